"""Idempotency-Key on POST: replay, mismatch, failures store nothing, concurrent requests."""
import threading
import time

import flask_smorest
import peewee
import pytest
from flask.views import MethodView

from crmkit import Manifest, Permission, hookimpl
from crmkit.auth import protect
from crmkit.db import BaseModel
from crmkit.idempotency import IdempotencyKey


class Payment(BaseModel):
    amount = peewee.IntegerField()

    class Meta:
        table_name = "pay_payment"


entered = threading.Event()
release = threading.Event()

blp = protect(flask_smorest.Blueprint("pay", __name__, url_prefix="/payments"),
              read="pay:read", write="pay:write")


@blp.route("")
class Payments(MethodView):
    def post(self):
        from flask import request
        amount = int(request.get_json()["amount"])
        payment = Payment.create(amount=amount)
        if amount == 13:  # the slow one: holds its transaction until the test lets go
            entered.set()
            release.wait(10)
        return {"id": payment.id, "amount": amount}, 201


class PayPlugin:
    manifest = Manifest(name="pay")

    @hookimpl
    def register_models(self):
        return [Payment]

    @hookimpl
    def register_blueprints(self):
        return [blp]

    @hookimpl
    def register_permissions(self):
        return [Permission("pay:read"), Permission("pay:write")]


@pytest.fixture
def crmkit_plugins():
    return [PayPlugin()]


def key(value):
    return {"Idempotency-Key": value}


def test_retry_with_the_same_key_and_body_replays_the_stored_answer(client, db):
    first = client.post("/api/v1/customers", json={"name": "Ada Lovelace"}, headers=key("k-1"))
    again = client.post("/api/v1/customers", json={"name": "Ada Lovelace"}, headers=key("k-1"))
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert client.get("/api/v1/customers").json["items"] == [first.json]


def test_without_a_key_every_post_runs(client):
    client.post("/api/v1/customers", json={"name": "One"})
    client.post("/api/v1/customers", json={"name": "One"})
    assert len(client.get("/api/v1/customers").json["items"]) == 2


def test_the_same_key_for_another_request_is_refused(client):
    assert client.post("/api/v1/customers", json={"name": "A"}, headers=key("k-2")
                       ).status_code == 201
    other_body = client.post("/api/v1/customers", json={"name": "B"}, headers=key("k-2"))
    assert other_body.status_code == 422
    assert "different request" in other_body.json["message"]
    other_path = client.post("/api/v1/pay/payments", json={"amount": 1}, headers=key("k-2"))
    assert other_path.status_code == 422
    assert len(client.get("/api/v1/customers").json["items"]) == 1


def test_a_failed_request_stores_nothing_so_a_corrected_retry_runs(client, db):
    failed = client.post("/api/v1/customers", json={"name": "A", "country": "germany"},
                         headers=key("k-3"))
    assert failed.status_code == 422
    assert IdempotencyKey.select().count() == 0
    fixed = client.post("/api/v1/customers", json={"name": "A", "country": "DE"},
                        headers=key("k-3"))
    assert fixed.status_code == 201


def test_keys_belong_to_their_user(client, make_client):
    other = make_client("agent")
    a = client.post("/api/v1/pay/payments", json={"amount": 5}, headers=key("shared"))
    b = other.post("/api/v1/pay/payments", json={"amount": 5}, headers=key("shared"))
    assert a.status_code == b.status_code == 201
    assert a.json["id"] != b.json["id"]
    assert "Idempotent-Replayed" not in b.headers


def test_a_malformed_key_is_refused(client):
    assert client.post("/api/v1/pay/payments", json={"amount": 1},
                       headers=key("x" * 256)).status_code == 422
    assert client.post("/api/v1/pay/payments", json={"amount": 1},
                       headers=key("with space")).status_code == 422


def test_two_concurrent_requests_with_one_key_never_both_run(app, db):
    entered.clear()
    release.clear()
    from crmkit.testing import admin_token
    token = admin_token(app)
    answers = {}

    def send(name):
        answers[name] = app.test_client(token=token).post(
            "/api/v1/pay/payments", json={"amount": 13}, headers=key("race"))

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert entered.wait(10), "the first request never started"
    second = threading.Thread(target=send, args=("second",))
    second.start()
    time.sleep(0.3)  # let the second reach the key (it then waits on the first's transaction)
    release.set()
    first.join(15)
    second.join(15)
    assert not first.is_alive() and not second.is_alive()
    assert answers["first"].status_code == 201, answers["first"].json
    assert answers["second"].status_code == 201, answers["second"].json
    assert answers["second"].json == answers["first"].json
    assert answers["second"].headers["Idempotent-Replayed"] == "true"
    db.connect(reuse_if_open=True)
    assert Payment.select().count() == 1


def test_keys_expire_after_a_day_and_a_job_purges_them(client, db, app):
    import datetime as dt

    from crmkit.db import utcnow
    from crmkit.idempotency import KEEP, purge_expired
    from crmkit.registry import collect_jobs
    client.post("/api/v1/pay/payments", json={"amount": 7}, headers=key("old"))
    db.connect(reuse_if_open=True)
    IdempotencyKey.update(created_at=utcnow() - KEEP - dt.timedelta(minutes=1)).execute()
    again = client.post("/api/v1/pay/payments", json={"amount": 7}, headers=key("old"))
    assert "Idempotent-Replayed" not in again.headers  # an expired key is a new request
    db.connect(reuse_if_open=True)
    IdempotencyKey.update(created_at=utcnow() - KEEP - dt.timedelta(minutes=1)).execute()
    assert purge_expired() == 1
    jobs = {job.name for plugin, job in collect_jobs(app.extensions["crmkit"].pm)
            if plugin == "crmkit"}
    assert "purge-idempotency-keys" in jobs


def test_openapi_lists_the_header_on_posts_that_honour_it(client):
    spec = client.get("/openapi.json").json
    header = spec["components"]["parameters"]["IdempotencyKey"]
    assert (header["name"], header["in"], header["required"]) == ("Idempotency-Key", "header",
                                                                  False)
    ref = {"$ref": "#/components/parameters/IdempotencyKey"}
    assert ref in spec["paths"]["/api/v1/customers"]["post"]["parameters"]
    assert ref not in spec["paths"]["/api/v1/customers"]["get"].get("parameters", [])
    # Public operations take no token, so they say so and have no key to offer.
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == [] and ref not in login.get("parameters", [])
    posts = [op for ops in spec["paths"].values() for method, op in ops.items()
             if method == "post"]
    assert all(ref in op.get("parameters", []) or op.get("security") == [] for op in posts)
