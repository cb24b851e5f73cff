"""Notifications: notify a user or a role; the inbox API; channels per kind; email via the worker."""
import pytest

from crmkit.db import connection, write_transaction
from crmkit.errors import NotFound, ValidationError
from crmkit.mail import EmailMessage
from crmkit.notifications import notify
from crmkit.notifications.models import Notification
from crmkit.worker.testing import SmtpServer, run_due


def send(app, *args, **kwargs):
    with app.app_context(), connection(), write_transaction():
        return notify(*args, **kwargs)


def emails(app):
    with app.app_context(), connection():
        return [(m.to, m.subject, m.kind) for m in EmailMessage.select().order_by(EmailMessage.id)]


def test_notify_a_user_puts_it_in_their_inbox_and_queues_an_email(app, make_client):
    agent = make_client("agent", email="ana@shop.example")
    other = make_client("agent")
    [item] = send(app, agent.user.id, "Call Ms. Jones back\nShe asked about delivery.",
                  link="/customers/7", kind="sales.task_due")
    inbox = agent.get("/api/v1/notifications").json
    assert inbox["unread_count"] == 1 and inbox["next_before"] is None
    [entry] = inbox["items"]
    assert (entry["id"], entry["kind"], entry["link"], entry["read"]) == (
        item.id, "sales.task_due", "/customers/7", False)
    assert other.get("/api/v1/notifications").json == {"items": [], "unread_count": 0,
                                                       "next_before": None}
    assert emails(app) == [('["ana@shop.example"]', "Call Ms. Jones back",
                            "notification.sales.task_due")]


def test_notify_a_role_reaches_every_active_user_with_it(app, make_user):
    managers = [make_user("manager") for _ in range(3)]
    make_user("agent")
    with app.app_context(), connection(), write_transaction():
        from crmkit.auth.models import User
        User.update(active=False).where(User.id == managers[2].id).execute()
    created = send(app, "manager", "Quarterly targets are in", kind="general")
    assert sorted(n.user_id for n in created) == sorted(m.id for m in managers[:2])
    assert len(emails(app)) == 2


def test_mark_read_and_read_all_touch_only_your_own(app, make_client):
    me, someone = make_client("agent"), make_client("agent")
    mine = [send(app, me.user.id, f"note {n}")[0] for n in range(3)]
    theirs = send(app, someone.user.id, "theirs")[0]
    read = me.post(f"/api/v1/notifications/{mine[0].id}/read")
    assert read.status_code == 200 and read.json["read"] is True
    assert me.post(f"/api/v1/notifications/{theirs.id}/read").status_code == 404
    unread = me.get("/api/v1/notifications?unread=true").json
    assert [i["id"] for i in unread["items"]] == [mine[2].id, mine[1].id]
    assert me.post("/api/v1/notifications/read-all").json == {"marked": 2}
    assert me.get("/api/v1/notifications").json["unread_count"] == 0
    assert someone.get("/api/v1/notifications").json["unread_count"] == 1


def test_inbox_pages_newest_first(app, make_client):
    me = make_client("agent")
    for n in range(5):
        send(app, me.user.id, f"note {n}")
    first = me.get("/api/v1/notifications?limit=2").json
    rest = me.get(f"/api/v1/notifications?limit=10&before={first['next_before']}").json
    messages = [i["message"] for i in first["items"] + rest["items"]]
    assert messages == [f"note {n}" for n in (4, 3, 2, 1, 0)]


def test_channels_per_kind_with_a_default(app, make_client):
    me = make_client("agent", email="me@shop.example")
    put = me.put("/api/v1/notifications/preferences/sales.task_due",
                 json={"in_app": True, "email": False})
    assert put.status_code == 200 and put.json == {"kind": "sales.task_due", "in_app": True,
                                                   "email": False}
    me.put("/api/v1/notifications/preferences/*", json={"in_app": False, "email": True})
    send(app, me.user.id, "task due", kind="sales.task_due")        # in-app only
    send(app, me.user.id, "ticket breached", kind="service.breach")  # default: email only
    assert [i["message"] for i in me.get("/api/v1/notifications").json["items"]] == ["task due"]
    assert [subject for _, subject, _ in emails(app)] == ["ticket breached"]
    assert [p["kind"] for p in me.get("/api/v1/notifications/preferences").json] == [
        "*", "sales.task_due"]
    assert me.delete("/api/v1/notifications/preferences/*").status_code == 204
    assert me.delete("/api/v1/notifications/preferences/*").status_code == 404
    assert me.put("/api/v1/notifications/preferences/Bad Kind!",
                  json={"in_app": True, "email": True}).status_code == 422


def test_the_inbox_needs_a_signed_in_user(anon_client):
    assert anon_client.get("/api/v1/notifications").status_code == 401


def test_bad_recipients_and_messages(app, make_user):
    user = make_user("agent")
    with pytest.raises(NotFound, match="No role named 'nobody'"):
        send(app, "nobody", "hello")
    with pytest.raises(NotFound, match="No user 999999"):
        send(app, 999999, "hello")
    with pytest.raises(ValidationError):
        send(app, user.id, "   ")
    with pytest.raises(ValidationError):
        send(app, user.id, "hello", kind="Not A Kind")


def test_a_rolled_back_change_notifies_nobody(app, make_user):
    user = make_user("agent")
    with pytest.raises(RuntimeError):
        with app.app_context(), connection(), write_transaction():
            notify(user.id, "never happened")
            raise RuntimeError("the change failed")
    with app.app_context(), connection():
        assert Notification.select().count() == 0
    assert emails(app) == []


def test_notification_email_is_sent_by_the_worker(make_app, make_user):
    with SmtpServer() as server:
        app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TLS="none",
                       SMTP_FROM="crm@shop.example")
        user = make_user("agent", email="ana@shop.example")
        send(app, user.id, "Deal won: Riverside", link="https://crm.shop.example/deals/4")
        assert server.messages == []
        run_due(app)
    [(_, rcpts, message)] = server.messages
    assert rcpts == ["ana@shop.example"] and message["Subject"] == "Deal won: Riverside"
    assert "https://crm.shop.example/deals/4" in message.get_content()
