"""``crmkit notifications send|inbox``: the command-line door to notify()."""
import json

from crmkit.db import connection
from crmkit.mail import EmailMessage
from crmkit.notifications.models import Notification


def stored(app):
    with app.app_context(), connection():
        return ([(n.user_id, n.kind, n.message, n.link)
                 for n in Notification.select().order_by(Notification.id)],
                [m.to for m in EmailMessage.select().order_by(EmailMessage.id)])


def test_send_to_a_user_by_email_and_a_role(app, runner, make_user):
    ana = make_user("agent", email="ana@shop.example")
    bosses = [make_user("manager", email=f"boss{n}@shop.example") for n in range(2)]
    result = runner.invoke(["notifications", "send", "--user", "ana@shop.example",
                            "--role", "manager", "--message", "Stock count on Friday",
                            "--link", "/calendar", "--kind", "ops.reminder", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["users"] == sorted([ana.id] + [b.id for b in bosses])
    inbox, emails = stored(app)
    assert sorted(inbox) == sorted((u.id, "ops.reminder", "Stock count on Friday", "/calendar")
                                   for u in [ana, *bosses])
    assert sorted(emails) == sorted(json.dumps([u.email]) for u in [ana, *bosses])

    listed = runner.invoke(["notifications", "inbox", str(ana.id), "--json"])
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.output)
    assert (entry["kind"], entry["message"], entry["read_at"]) == (
        "ops.reminder", "Stock count on Friday", None)
    table = runner.invoke(["notifications", "inbox", "ana@shop.example", "--unread"])
    assert "Stock count on Friday" in table.output and "ops.reminder" in table.output


def test_the_user_preferences_decide_the_channels(app, runner, make_client):
    ana = make_client("agent", email="ana@shop.example")
    assert ana.put("/api/v1/notifications/preferences/ops.reminder",
                   json={"in_app": True, "email": False}).status_code == 200
    result = runner.invoke(["notifications", "send", "--user", str(ana.user.id),
                            "--message", "Stock count", "--kind", "ops.reminder"])
    assert result.exit_code == 0, result.output
    assert "notified 1 user(s)" in result.output
    inbox, emails = stored(app)
    assert len(inbox) == 1 and emails == []


def test_bad_input_notifies_nobody_and_exits_non_zero(app, runner, make_user):
    ana = make_user("agent", email="ana@shop.example")
    cases = [
        (["--user", "ana@shop.example", "--user", "nobody@shop.example"], "No user with email"),
        (["--user", str(ana.id), "--role", "no-such-role"], "No role named 'no-such-role'"),
        (["--user", str(ana.id), "--kind", "Not A Kind"], "kind: Dotted lower case"),
        ([], "Name at least one --user or --role"),
    ]
    for args, message in cases:
        result = runner.invoke(["notifications", "send", "--message", "hello", *args])
        assert result.exit_code != 0, (args, result.output)
        assert message in result.output, (args, result.output)
    blank = runner.invoke(["notifications", "send", "--user", str(ana.id), "--message", "  "])
    assert blank.exit_code != 0 and "message:" in blank.output
    assert stored(app) == ([], [])  # all or nothing: the first, valid user got nothing either
    missing = runner.invoke(["notifications", "inbox", "nobody@shop.example"])
    assert missing.exit_code != 0 and "No user with email" in missing.output
