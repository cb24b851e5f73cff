"""``Idempotency-Key`` for POST requests: a retry gets the stored answer instead of a second effect.

A caller sends ``Idempotency-Key: <unique string>`` with a POST. The first request with that key
runs and its successful answer is stored with the key, in the request's own transaction: the
effect and the stored answer are committed together or not at all. Then:

- the same key with the same method, path and body returns the stored answer
  (``Idempotent-Replayed: true``) without running anything;
- the same key with another method, path or body is refused with 422;
- two concurrent requests with one key never both run: the key row is inserted first thing in the
  transaction, so the second waits on the first (PostgreSQL's unique index, SQLite's write lock),
  then replays its answer, or runs itself if the first failed (a failed request stores nothing,
  its key included).

Keys belong to the user who sent them and are kept for :data:`KEEP`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import peewee
from apispec import BasePlugin
from flask import Flask, Response, g, request

from crmkit import db
from crmkit.auth.fields import JSONField
from crmkit.db import BaseModel, UTCDateTimeField, utcnow
from crmkit.errors import error_response

HEADER = "Idempotency-Key"
KEEP = dt.timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("Content-Type", "Location")


class IdempotencyKey(BaseModel):
    owner = peewee.CharField(max_length=64)
    key = peewee.CharField(max_length=255)
    fingerprint = peewee.CharField(max_length=64)
    status_code = peewee.IntegerField(null=True)
    response_body = peewee.TextField(null=True)
    response_headers = JSONField(null=True)
    created_at = UTCDateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "idempotency_key"
        indexes = ((("owner", "key"), True),)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.full_path.encode(), request.get_data()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.response_body or "", status=row.status_code)
    for name, value in (row.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(owner: str, key: str, fingerprint: str) -> Response | None:
    """Insert the key, or answer from the row another request stored under it."""
    for _attempt in range(2):
        try:
            with db.database.atomic():  # a savepoint: a clash must not abort the transaction
                row = IdempotencyKey.create(owner=owner, key=key, fingerprint=fingerprint)
            g.crmkit_idempotency = row
            return None
        except peewee.IntegrityError:
            pass
        row = IdempotencyKey.get_or_none(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        if row is None:
            continue  # the other request failed and stored nothing: run this one
        if row.created_at < utcnow() - KEEP:
            row.delete_instance()
            continue
        if row.fingerprint != fingerprint:
            return error_response(422, f"This {HEADER} was used for a different request; use a "
                                       "new key for a new request.",
                                  {"headers": {HEADER: ["Reused with a different request."]}})
        if row.status_code is None:  # only possible if the first is still in this transaction
            return error_response(409, f"A request with this {HEADER} is still running.")
        return _replay(row)
    return error_response(409, f"A request with this {HEADER} is still running.")


def before_request():
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or request.url_rule is None:
        return None
    principal = g.get("crmkit_principal")
    if principal is None:
        return None  # public endpoints (login) have nothing to protect with a key
    if not _KEY.match(key):
        return error_response(422, f"{HEADER} must be 1-255 visible ASCII characters.",
                              {"headers": {HEADER: ["Not a valid key."]}})
    return _claim(f"user:{principal.user_id}", key, _fingerprint())


def after_request(response: Response) -> Response:
    row = g.pop("crmkit_idempotency", None)
    if row is not None and response.status_code < 400 and not response.is_streamed:
        headers = {name: response.headers[name] for name in _REPLAYED_HEADERS
                   if name in response.headers}
        (IdempotencyKey
         .update(status_code=response.status_code, response_body=response.get_data(as_text=True),
                 response_headers=headers)
         .where(IdempotencyKey.id == row.id).execute())
    return response


def purge_expired() -> int:
    """Delete keys past :data:`KEEP`; a periodic job."""
    with db.connection(), db.write_transaction():
        return IdempotencyKey.delete().where(IdempotencyKey.created_at < utcnow() - KEEP).execute()


class OpenAPIDocs(BasePlugin):
    """An apispec plugin: the header on every POST that honours it, and ``security: []`` on
    operations that need no token (a client generator then neither sends nor asks for one)."""

    def __init__(self, app: Flask):
        self.app = app

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        spec.components.parameter("IdempotencyKey", "header", {
            "name": HEADER,
            "required": False,
            "description": "Any unique string (a UUID, say). A retry with the same key and body "
                           "answers the stored result instead of acting twice; the same key "
                           "with another body is refused with 422. Kept for "
                           f"{int(KEEP.total_seconds() // 3600)} hours.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                       "pattern": "^[\\x21-\\x7e]+$"}})

    def operation_helper(self, path=None, operations=None, rule=None, **kwargs) -> None:
        if rule is None or not operations:
            return
        from crmkit.auth.declare import PUBLIC, required_permission
        for method, operation in operations.items():
            if required_permission(self.app, rule.endpoint, method.upper()) == PUBLIC:
                operation["security"] = []
            elif method == "post":
                operation.setdefault("parameters", []).append("IdempotencyKey")  # a $ref


def init_app(app: Flask) -> None:
    # Appended after the kernel's transaction-opening function, so the key is claimed inside the
    # request's transaction; after_request functions run in reverse, so the answer is stored
    # before the transaction commits.
    app.before_request(before_request)
    app.after_request(after_request)
