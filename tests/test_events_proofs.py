"""The issue's proofs that need the whole chain: a rolled-back change sends nothing anywhere, and
10,000 events fan out to 3 subscriptions with none lost and none duplicated."""
import json
import uuid
from collections import Counter

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit import Manifest, Task, hookimpl
from crmkit.db import connection, utcnow, write_transaction
from crmkit.errors import ValidationError
from crmkit.events import Event, emit
from crmkit.mail import EmailMessage, send_email
from crmkit.notifications import notify
from crmkit.notifications.models import Notification
from crmkit.webhooks.models import WebhookDelivery
from crmkit.worker.models import Job
from crmkit.worker.testing import Receiver, SmtpServer, run_due

ran: list[int] = []
FOLLOW_UP = Task("orders.follow_up", lambda order: ran.append(order))


class Orders:
    """A plugin whose endpoint does everything that leaves the request, then maybe fails."""

    manifest = Manifest(name="orders")

    def __init__(self):
        self.blp = Blueprint("orders", __name__, url_prefix="/orders")

        @self.blp.route("")
        class Place(MethodView):
            def post(self):
                body = request.get_json()
                emit("orders.order.placed", {"order": body["order"]}, subject="order",
                     subject_id=body["order"])
                send_email(to="buyer@example.com", subject=f"Order {body['order']}",
                           text="Thanks!")
                notify(body["notify"], f"New order {body['order']}", kind="orders.new")
                FOLLOW_UP.defer(order=body["order"])
                if body.get("fail"):
                    raise ValidationError({"order": "Out of stock."})
                return {"ok": True}, 201

    @hookimpl
    def register_blueprints(self):
        return [self.blp]

    @hookimpl
    def register_tasks(self):
        return [FOLLOW_UP]


def counts(app):
    with app.app_context(), connection():
        return {model.__name__: model.select().count()
                for model in (Event, WebhookDelivery, EmailMessage, Notification, Job)}


def test_a_rolled_back_change_produces_no_event_webhook_email_or_job(make_app, make_user):
    ran.clear()
    with Receiver() as receiver, SmtpServer() as smtp:
        app = make_app(plugins=[Orders()], WEBHOOKS_ALLOWED_HOSTS="127.0.0.1",
                       SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TLS="none",
                       SMTP_FROM="shop@example.com")
        client = app.test_client()
        assert client.post("/api/v1/webhooks", json={"url": receiver.url,
                                                     "event_types": ["*"]}).status_code == 201
        clerk = make_user("agent", email="clerk@example.com")

        failed = client.post("/api/v1/orders/orders", json={"order": 1, "notify": clerk.id,
                                                            "fail": True})
        assert failed.status_code == 422
        run_due(app)
        assert counts(app) == {"Event": 0, "WebhookDelivery": 0, "EmailMessage": 0,
                               "Notification": 0, "Job": 0}
        assert receiver.requests == [] and smtp.messages == [] and ran == []

        # The same request succeeding: everything arrives, once.
        assert client.post("/api/v1/orders/orders",
                           json={"order": 2, "notify": clerk.id}).status_code == 201
        run_due(app)
    assert [json.loads(r.body)["payload"] for r in receiver.requests] == [{"order": 2}]
    assert sorted(m["Subject"] for _, _, m in smtp.messages) == ["New order 2", "Order 2"]
    assert ran == [2]
    assert counts(app) == {"Event": 1, "WebhookDelivery": 1, "EmailMessage": 2,
                           "Notification": 1, "Job": 1}


def test_ten_thousand_events_fan_out_to_three_subscriptions_exactly_once(make_app):
    total = 10_000
    with Receiver() as receiver:
        app = make_app(WEBHOOKS_ALLOWED_HOSTS="127.0.0.1", WEBHOOKS_BATCH_SIZE=250)
        client = app.test_client()
        for name in ("a", "b", "c"):
            assert client.post("/api/v1/webhooks", json={
                "url": f"{receiver.url}/{name}", "event_types": ["customer.*"]}).status_code == 201
        with app.app_context(), connection(), write_transaction():
            now = utcnow()
            rows = [{"uuid": uuid.uuid4(), "type": "customer.created", "occurred_at": now,
                     "subject": "customer", "subject_id": str(n), "payload": f'{{"n": {n}}}'}
                    for n in range(total)]
            for start in range(0, total, 1000):  # set-based: 1,000 rows per INSERT
                Event.insert_many(rows[start:start + 1000]).execute()
        run_due(app, max_rounds=10_000)

    received = Counter((r.path, r.headers["Crmkit-Event-Id"]) for r in receiver.requests)
    assert len(received) == 3 * total                      # none lost
    assert max(received.values()) == 1                     # none duplicated
    assert {path for path, _ in received} == {"/hook/a", "/hook/b", "/hook/c"}
    with app.app_context(), connection():
        assert WebhookDelivery.select().where(WebhookDelivery.status == "delivered",
                                              WebhookDelivery.attempts == 1).count() == 3 * total
        assert WebhookDelivery.select().count() == 3 * total
