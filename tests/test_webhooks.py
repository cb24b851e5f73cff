"""Webhooks: subscriptions, signed deliveries to a real receiver, retries, log, auto-disable."""
import datetime as dt
import json
import time

import pytest

from crmkit.db import connection, utcnow, write_transaction
from crmkit.events import emit
from crmkit.webhooks import signing
from crmkit.webhooks.delivery import retry_delay
from crmkit.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from crmkit.worker.settings import DEFAULTS
from crmkit.worker.testing import Receiver, run_due

LOCAL = {"WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1", "WEBHOOKS_RETRY_BASE_SECONDS": 0}


@pytest.fixture
def hook_app(make_app):
    return make_app(**LOCAL)


def subscribe(client, url, types=("*",), **extra):
    response = client.post("/api/v1/webhooks", json={"url": url, "event_types": list(types),
                                                     **extra})
    assert response.status_code == 201, response.json
    return response.json


def emit_events(app, count, event_type="customer.created"):
    with app.app_context(), connection(), write_transaction():
        return [emit(event_type, {"n": n}, subject="customer", subject_id=n)
                for n in range(count)]


def log_of(client, subscription_id):
    response = client.get(f"/api/v1/webhooks/{subscription_id}/deliveries")
    assert response.status_code == 200, response.json
    return response.json["deliveries"]


def test_subscriptions_are_managed_through_the_api(hook_app):
    client = hook_app.test_client()
    created = subscribe(client, "http://127.0.0.1:9/hook", ["customer.*", "sales.deal.won"],
                        description="ERP")
    assert created["secret"].startswith("whsec_") and created["active"] is True
    assert created["event_types"] == ["customer.*", "sales.deal.won"]
    listed = client.get("/api/v1/webhooks").json
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0] and listed[0]["secret_hint"] == "..." + created["secret"][-4:]

    changed = client.patch(f"/api/v1/webhooks/{created['id']}",
                           json={"event_types": ["*"], "active": False}).json
    assert changed["event_types"] == ["*"] and changed["disabled_reason"] == "manual"
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", json={}).json
    assert rotated["secret"] != created["secret"]
    assert client.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert client.get(f"/api/v1/webhooks/{created['id']}").status_code == 404


@pytest.mark.parametrize("url, field", [
    ("ftp://example.com/x", "url"), ("http://user:pw@example.com/", "url"),
    ("not a url", "url"), ("http://127.0.0.1:8080/hook", "url"), ("http://localhost/", "url"),
    ("http://10.1.2.3/hook", "url"), ("http://169.254.169.254/latest", "url"),
    ("http://[::1]/hook", "url"), ("http://[::ffff:192.168.0.1]/", "url"),
])
def test_private_and_malformed_targets_are_refused(app, url, field):
    response = app.test_client().post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
    assert response.status_code == 422, url
    assert field in response.json["errors"]["json"]


def test_bad_event_types_and_short_secrets_are_refused(hook_app):
    client = hook_app.test_client()
    for body, field in (({"event_types": []}, "event_types"),
                        ({"event_types": ["Customer"]}, "event_types"),
                        ({"event_types": ["*"], "secret": "short"}, "secret")):
        response = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1/", **body})
        assert response.status_code == 422, body
        assert field in response.json["errors"]["json"]


def test_allow_list_takes_networks_and_allow_private_allows_everything(make_app):
    client = make_app(WEBHOOKS_ALLOWED_HOSTS="10.0.0.0/8, hooks.internal").test_client()
    subscribe(client, "http://10.20.30.40/hook")
    assert client.post("/api/v1/webhooks", json={"url": "http://192.168.1.1/",
                                                 "event_types": ["*"]}).status_code == 422
    open_client = make_app(WEBHOOKS_ALLOW_PRIVATE="true").test_client()
    subscribe(open_client, "http://192.168.1.1/")


def test_a_target_that_became_private_is_refused_at_delivery(make_app, hook_app):
    created = subscribe(hook_app.test_client(), "http://127.0.0.1:9/hook")
    emit_events(hook_app, 1)
    strict = make_app(WEBHOOKS_RETRY_BASE_SECONDS=0)  # same database, no allow-list
    from crmkit.worker.pump import pump_once
    from crmkit.worker.runtime import Runtime
    runtime = Runtime(strict, immediate=True)
    with strict.app_context(), connection():
        pump_once(runtime)
    [delivery] = log_of(hook_app.test_client(), created["id"])
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert "refused" in delivery["attempt_log"][0]["error"]
    assert "private, loopback or reserved" in delivery["attempt_log"][0]["error"]


def test_receiver_down_then_up_gets_every_event_with_stable_ids_and_valid_signatures(hook_app):
    """The proof: down for the first attempts, then up but failing once, then accepting."""
    client = hook_app.test_client()
    seen_ids: dict[str, int] = {}

    def flaky(received):
        event_id = received.headers["Crmkit-Event-Id"]
        seen_ids[event_id] = seen_ids.get(event_id, 0) + 1
        return 503 if seen_ids[event_id] == 1 else 200

    receiver = Receiver(flaky, start=False)  # down: nothing listens on its port yet
    created = subscribe(client, receiver.url, ["customer.*"])
    events = emit_events(hook_app, 5)

    from crmkit.worker.pump import pump_once
    from crmkit.worker.runtime import Runtime
    runtime = Runtime(hook_app, immediate=True)
    with hook_app.app_context(), connection():
        for _ in range(3):  # three rounds, each one failed attempt per delivery
            pump_once(runtime)
    assert receiver.requests == []
    receiver.start()
    try:
        run_due(hook_app)
    finally:
        receiver.stop()

    expected = {str(e.uuid) for e in events}
    assert set(seen_ids) == expected and all(n == 2 for n in seen_ids.values())
    for request in receiver.requests:
        body = json.loads(request.body)
        assert request.headers["Crmkit-Event-Id"] == body["id"]
        assert request.headers["Crmkit-Event-Type"] == body["type"] == "customer.created"
        assert signing.verify(created["secret"], request.headers["Crmkit-Timestamp"],
                              request.body, request.headers["Crmkit-Signature"], time.time())
        assert not signing.verify("whsec_wrong-secret-entirely", request.headers[
            "Crmkit-Timestamp"], request.body, request.headers["Crmkit-Signature"], time.time())
    # Both attempts of one event carried the same bytes.
    bodies = {}
    for request in receiver.requests:
        bodies.setdefault(request.headers["Crmkit-Event-Id"], set()).add(request.body)
    assert all(len(b) == 1 for b in bodies.values())

    deliveries = log_of(client, created["id"])
    assert {d["status"] for d in deliveries} == {"delivered"}
    for d in deliveries:
        log = d["attempt_log"]
        assert [a["number"] for a in log] == [1, 2, 3, 4, 5]
        assert [a["succeeded"] for a in log] == [False] * 4 + [True]
        assert all("ConnectionRefusedError" in a["error"] for a in log[:3])
        assert (log[3]["status_code"], log[4]["status_code"]) == (503, 200)
        assert log[3]["error"].startswith("HTTP 503")
        assert all(a["latency_ms"] >= 0 for a in log)
    assert client.get(f"/api/v1/webhooks/{created['id']}").json["consecutive_failures"] == 0


def test_only_matching_subscriptions_get_an_event_and_only_after_they_exist(hook_app):
    client = hook_app.test_client()
    emit_events(hook_app, 1, "customer.created")  # before any subscription: nobody gets it
    with Receiver() as receiver:
        everything = subscribe(client, receiver.url, ["*"])
        customers = subscribe(client, receiver.url, ["customer.*"])
        deals = subscribe(client, receiver.url, ["sales.deal.won", "sales.deal.lost"])
        for event_type in ("customer.updated", "sales.deal.won", "sales.deal_x.won",
                           "customerx.created"):
            emit_events(hook_app, 1, event_type)
        run_due(hook_app)

    def types(sub):
        return sorted(d["event_type"] for d in log_of(client, sub["id"]))

    assert types(everything) == ["customer.updated", "customerx.created", "sales.deal.won",
                                 "sales.deal_x.won"]
    assert types(customers) == ["customer.updated"]
    assert types(deals) == ["sales.deal.won"]
    assert len(receiver.requests) == 6


def test_backoff_doubles_and_spans_about_a_day():
    config = {}
    delays = [retry_delay(n, config).total_seconds() for n in range(1, 14)]
    assert 27 <= delays[0] <= 33 and 54 <= delays[1] <= 66
    assert max(delays) <= 21600 * 1.1
    total_hours = sum(delays) / 3600
    assert DEFAULTS["WEBHOOKS_MAX_ATTEMPTS"] == 14 and 20 <= total_hours <= 32


def test_a_failed_attempt_is_scheduled_with_backoff(make_app):
    app = make_app(WEBHOOKS_ALLOWED_HOSTS="127.0.0.1")  # real 30 s base
    with Receiver(lambda r: 500) as receiver:
        subscribe(app.test_client(), receiver.url)
        emit_events(app, 1)
        run_due(app)  # one attempt; the retry is not due yet, so the drain stops
    assert len(receiver.requests) == 1
    with app.app_context(), connection():
        delivery = WebhookDelivery.get()
        wait = (delivery.next_attempt_at - utcnow()).total_seconds()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert 20 < wait < 34


def test_gives_up_after_max_attempts_and_redeliver_by_hand(make_app, runner):
    app = make_app(WEBHOOKS_MAX_ATTEMPTS=3, **LOCAL)
    client = app.test_client()
    answers = iter([500, 500, 500, 200, 200])
    with Receiver(lambda r: next(answers)) as receiver:
        created = subscribe(client, receiver.url)
        emit_events(app, 1)
        run_due(app)
        [delivery] = log_of(client, created["id"])
        assert (delivery["status"], delivery["attempts"]) == ("failed", 3)

        redone = client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver")
        assert redone.status_code == 202 and redone.json["status"] == "pending"
        run_due(app)
        after = client.get(f"/api/v1/webhooks/deliveries/{delivery['id']}").json
        assert (after["status"], after["attempts"]) == ("delivered", 4)

        # A delivered one can be sent again too, from the command line.
        result = runner.invoke(["webhooks", "redeliver", str(delivery["id"])], env=LOCAL)
        assert result.exit_code == 0, result.output
        run_due(app)
    assert len(receiver.requests) == 5
    assert len({r.headers["Crmkit-Event-Id"] for r in receiver.requests}) == 1
    assert client.post("/api/v1/webhooks/deliveries/999/redeliver").status_code == 404


def test_a_run_of_failures_disables_the_subscription(make_app):
    app = make_app(WEBHOOKS_DISABLE_AFTER_FAILURES=3, WEBHOOKS_DISABLE_AFTER_HOURS=0, **LOCAL)
    client = app.test_client()
    with Receiver(lambda r: 500) as receiver:
        created = subscribe(client, receiver.url)
        emit_events(app, 2)
        run_due(app)
    sub = client.get(f"/api/v1/webhooks/{created['id']}").json
    assert sub["active"] is False and "3 or more failed attempts" in sub["disabled_reason"]
    assert sub["consecutive_failures"] >= 3
    sent = len(receiver.requests)
    assert 3 <= sent <= 4  # it stops as soon as the run is long enough
    pending = [d for d in log_of(client, created["id"]) if d["status"] == "pending"]
    assert pending, "queued deliveries wait while it is off"
    assert client.post(f"/api/v1/webhooks/deliveries/{pending[0]['id']}/redeliver"
                       ).status_code == 409

    with Receiver(port=receiver.port) as back_up:
        enabled = client.patch(f"/api/v1/webhooks/{created['id']}", json={"active": True}).json
        assert enabled["consecutive_failures"] == 0 and enabled["disabled_reason"] is None
        run_due(app)
    assert {d["status"] for d in log_of(client, created["id"])} == {"delivered"}
    assert len(back_up.requests) == 2


def test_disabled_subscription_gets_no_new_deliveries(hook_app):
    client = hook_app.test_client()
    with Receiver() as receiver:
        created = subscribe(client, receiver.url)
        client.patch(f"/api/v1/webhooks/{created['id']}", json={"active": False})
        emit_events(hook_app, 3)
        run_due(hook_app)
    assert receiver.requests == [] and log_of(client, created["id"]) == []


def test_delivery_log_pages_newest_first(hook_app):
    client = hook_app.test_client()
    with Receiver() as receiver:
        created = subscribe(client, receiver.url)
        emit_events(hook_app, 5)
        run_due(hook_app)
    first = client.get(f"/api/v1/webhooks/{created['id']}/deliveries?limit=2").json
    second = client.get(f"/api/v1/webhooks/{created['id']}/deliveries?limit=2"
                        f"&before={first['next_before']}").json
    ids = [d["id"] for d in first["deliveries"] + second["deliveries"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert client.get(f"/api/v1/webhooks/{created['id']}/deliveries?status=pending"
                      ).json["deliveries"] == []


def test_cli_manages_subscriptions_and_shows_the_log(hook_app, runner):
    with Receiver() as receiver:
        result = runner.invoke(["webhooks", "create", receiver.url, "--event", "customer.*",
                                "--description", "ERP"], env=LOCAL)
        assert result.exit_code == 0, result.output
        sub_id = int(result.output.split()[1])
        assert "secret: whsec_" in result.output
        emit_events(hook_app, 1)
        run_due(hook_app)
    listed = runner.invoke("webhooks list", env=LOCAL).output
    assert receiver.url in listed and "customer.*" in listed
    deliveries = runner.invoke(["webhooks", "deliveries", str(sub_id)], env=LOCAL).output
    assert "customer.created  delivered" in deliveries
    with hook_app.app_context(), connection():
        delivery_id = WebhookDelivery.get().id
    shown = runner.invoke(["webhooks", "show", str(delivery_id)], env=LOCAL).output
    assert "delivered after 1 attempt(s)" in shown
    refused = runner.invoke(["webhooks", "create", "http://10.0.0.1/", "--event", "*"])
    assert refused.exit_code == 1 and "private, loopback or reserved" in refused.output
    assert runner.invoke(["webhooks", "disable", str(sub_id)]).exit_code == 0
    assert runner.invoke(["webhooks", "delete", str(sub_id)]).exit_code == 0
    missing = runner.invoke(["webhooks", "delete", str(sub_id)])
    assert missing.exit_code == 1 and f"No webhook subscription {sub_id}" in missing.output
