"""Limits: rate per token (memory or Redis), request body size, upload size and type, page size."""
import io
import json
import socket
import time

import flask_smorest
import pytest
from flask import request
from flask.views import MethodView

from crmkit import Manifest, Permission, hookimpl
from crmkit.audit.models import AuditEvent
from crmkit.auth import protect
from crmkit.limits import accepts_upload, read_upload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

upload_blp = protect(flask_smorest.Blueprint("files", __name__, url_prefix="/files"),
                     read="files:read", write="files:write")


@upload_blp.route("")
class Files(MethodView):
    @accepts_upload
    def post(self):
        data = read_upload(request.files.get("file"), types=["image/png", "text/csv"])
        return {"bytes": len(data)}, 201


@upload_blp.route("/json")
class JsonEcho(MethodView):
    def post(self):
        return {"bytes": len(request.get_data())}, 201


class FilesPlugin:
    manifest = Manifest(name="files")

    @hookimpl
    def register_blueprints(self):
        return [upload_blp]

    @hookimpl
    def register_permissions(self):
        return [Permission("files:read"), Permission("files:write")]


# -- rate limits --------------------------------------------------------------------------------

def test_rate_limit_is_per_token_with_429_and_retry_after(make_app, make_client):
    app = make_app(RATE_LIMIT="3 per minute")
    first = app.test_client()
    second = app.test_client(token=make_client("agent").token)
    answers = [first.get("/api/v1/users/me") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.json["code"] == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert "Retry-After" not in answers[0].headers
    assert second.get("/api/v1/users/me").status_code == 200  # its own budget


def test_headers_count_down_and_several_limits_apply_shortest_period_first(make_app):
    client = make_app(RATE_LIMIT="10 per day; 2 per hour").test_client()
    answers = [client.get("/api/v1/users/me") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"2"}
    assert int(answers[0].headers["X-RateLimit-Reset"]) > time.time() + 3500
    assert "2 per 1 hour" in answers[2].json["message"]
    assert 3500 <= int(answers[2].headers["Retry-After"]) <= 3601


def test_unreachable_redis_falls_back_to_counting_in_memory(make_app, caplog):
    # Nothing listens on port 1: the limit still holds, counted by this process.
    app = make_app(RATE_LIMIT="2 per minute", REDIS_URL="redis://127.0.0.1:1/15")
    client = app.test_client()
    assert [client.get("/api/v1/users/me").status_code for _ in range(3)] == [200, 200, 429]
    assert "counting in memory" in caplog.text


def test_callers_without_a_valid_token_share_a_budget_per_address(make_app, db):
    app = make_app(RATE_LIMIT_ANONYMOUS="2 per minute")
    anonymous = app.test_client(token=None)
    bad = {"Authorization": "Bearer crmkit_000000000000_" + "z" * 43}
    codes = [anonymous.get("/api/v1/customers", headers=bad).status_code for _ in range(5)]
    assert codes == [401, 401, 429, 429, 429]
    # A flood of bad tokens cannot flood the audit trail: refused requests are not logins.
    assert AuditEvent.select().where(AuditEvent.action == "login.failed").count() == 2
    login = anonymous.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "x"})
    assert login.status_code == 429


def test_health_and_docs_are_not_rate_limited(make_app):
    app = make_app(RATE_LIMIT_ANONYMOUS="1 per minute")
    anonymous = app.test_client(token=None)
    assert {anonymous.get("/healthz").status_code for _ in range(5)} == {200}
    assert {anonymous.get("/openapi.json").status_code for _ in range(3)} == {200}


def _redis_answers(host="127.0.0.1", port=6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="needs Redis at 127.0.0.1:6379")
def test_redis_storage_shares_counts_between_workers(make_app):
    settings = {"RATE_LIMIT": "3 per minute", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    worker_a, worker_b = make_app(**settings), make_app(**settings)
    token = worker_a.test_client().application.extensions  # noqa: F841 (same database)
    from crmkit.testing import admin_token
    plaintext = admin_token(worker_a)
    a = worker_a.test_client(token=plaintext)
    b = worker_b.test_client(token=plaintext)
    codes = [a.get("/api/v1/users/me").status_code, b.get("/api/v1/users/me").status_code,
             a.get("/api/v1/users/me").status_code, b.get("/api/v1/users/me").status_code]
    assert codes == [200, 200, 200, 429]
    storage = worker_a.extensions["crmkit_limiter"].storage
    assert type(storage).__name__.lower().startswith("redis")


# -- bodies and uploads -------------------------------------------------------------------------

@pytest.fixture
def files_app(make_app):
    return make_app([FilesPlugin()], MAX_BODY_BYTES=1000, MAX_UPLOAD_BYTES=5000)


def test_request_body_above_the_limit_is_413(files_app):
    client = files_app.test_client()
    small = client.post("/api/v1/files/files/json", data=json.dumps({"x": "a" * 100}),
                        content_type="application/json")
    assert small.status_code == 201
    big = client.post("/api/v1/files/files/json", data=json.dumps({"x": "a" * 2000}),
                      content_type="application/json")
    assert big.status_code == 413
    assert big.json["code"] == 413 and big.is_json


def upload(client, content, filename="f.png", mimetype="image/png"):
    return client.post("/api/v1/files/files", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), filename, mimetype)})


def test_upload_endpoints_take_files_up_to_the_upload_limit(files_app):
    client = files_app.test_client()
    ok = upload(client, PNG + b"\x00" * 2000)  # above the body limit, below the upload limit
    assert ok.status_code == 201 and ok.json == {"bytes": len(PNG) + 2000}
    assert upload(client, b"name,email\nA,a@example.com\n", "people.csv",
                  "text/csv").status_code == 201
    too_big = upload(client, PNG + b"\x00" * 6000)
    assert too_big.status_code == 413


def test_upload_type_must_be_accepted_and_match_the_content(files_app):
    client = files_app.test_client()
    wrong_type = upload(client, b"%PDF-1.7 ...", "doc.pdf", "application/pdf")
    assert wrong_type.status_code == 415
    assert "not accepted" in wrong_type.json["message"]
    disguised = upload(client, b"MZ\x90\x00 an executable", "image.png", "image/png")
    assert disguised.status_code == 415
    assert disguised.json["message"] == "The file's content is not image/png."
    binary_csv = upload(client, b"a,b\x00\xff", "x.csv", "text/csv")
    assert binary_csv.status_code == 415
    missing = client.post("/api/v1/files/files", content_type="multipart/form-data", data={})
    assert missing.status_code == 422


# -- page size ----------------------------------------------------------------------------------

def test_lists_refuse_pages_above_the_maximum(make_app):
    client = make_app(MAX_PAGE_SIZE=5).test_client()
    for path in ("/api/v1/users", "/api/v1/audit", "/api/v1/customers"):
        assert client.get(f"{path}?limit=5").status_code == 200, path
        refused = client.get(f"{path}?limit=6")
        assert refused.status_code == 422, path
        assert {"limit": ["Must be between 1 and 5."]} in refused.json["errors"].values(), path
        assert client.get(f"{path}?limit=0").status_code == 422, path


def test_nul_characters_are_refused_before_any_door_sees_them(client):
    in_query = client.get("/api/v1/customers?q=a%00b")
    assert in_query.status_code == 422
    assert in_query.json["errors"]["query"] == {"q": ["NUL characters are not allowed."]}
    in_body = client.post("/api/v1/customers", json={"first_name": "a\x00b"})
    assert in_body.status_code == 422
    assert client.get("/api/v1/customers/export?q=a%00").status_code == 422
    assert client.post("/api/v1/customers", json={"first_name": "fine"}).status_code == 201


def test_an_unpaired_surrogate_in_a_json_body_is_refused(client):
    """JSON can escape half of a UTF-16 pair on its own; no UTF-8 text column can hold it."""
    body = b'{"first_name": "Ann\\ud800", "tags": ["ok"]}'
    refused = client.post("/api/v1/customers", data=body, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json["errors"]["json"] == {
        "_body": ["Unpaired UTF-16 surrogates (\\ud800-\\udfff) are not allowed."]}
    paired = b'{"first_name": "Ann \\ud83d\\ude00"}'  # an emoji, as a pair: fine
    created = client.post("/api/v1/customers", data=paired, content_type="application/json")
    assert created.status_code == 201 and created.json["first_name"] == "Ann \U0001F600"
