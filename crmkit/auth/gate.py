"""The request gate: request id, authentication, rate limits, then the endpoint's permission.

Runs before the request's transaction opens, so a refused request never takes a write lock and a
failed login is recorded even though the request itself stores nothing. The order matters:

1. request id (``X-Request-ID`` if the caller sent a sane one, else a new one; echoed back);
2. who is calling (``Authorization: Bearer <token>``); nothing is refused yet;
3. rate limit, per token, or per address for callers without a valid token (so a flood of bad
   tokens is throttled before it can flood the audit trail);
4. a bad token: 401, recorded as ``login.failed`` in a transaction of its own;
5. the endpoint's declared permission: 401 without a token, 403 without the permission.

Other ways to authenticate (a session cookie for the web console) slot in as another function in
:data:`AUTHENTICATORS`: each returns a Principal, None when its credentials are absent, or raises
Unauthorized when they are present but wrong.
"""
from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from flask import Flask, current_app, g, request

from crmkit import db
from crmkit.auth import tokens
from crmkit.auth.declare import AUTHENTICATED, PUBLIC, declared_endpoints, required_permission
from crmkit.auth.principal import Principal
from crmkit.errors import Unauthorized, error_response

log = logging.getLogger("crmkit.auth")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def bearer_token() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Send the token as 'Authorization: Bearer <token>'.")
    token = tokens.verify(value.strip())
    tokens.touch(token)
    return Principal.for_token(token)


AUTHENTICATORS: list[Callable[[], Principal | None]] = [bearer_token]


def _identify() -> tuple[Principal | None, Unauthorized | None]:
    with db.connection():
        for authenticate in AUTHENTICATORS:
            try:
                principal = authenticate()
            except Unauthorized as exc:
                return None, exc
            if principal is not None:
                return principal, None
    return None, None


def record_failed_login(reason: str) -> None:
    from crmkit import audit
    audit.record_even_if_refused("login.failed", "api_token", None, detail={
        "reason": reason, "method": request.method, "path": request.path})


def unauthorized(message: str):
    return error_response(401, message, headers={"WWW-Authenticate": 'Bearer realm="crmkit"'})


def gate():
    g.request_id = _request_id()
    from crmkit.limits import apply_body_limit, check_rate_limit, reject_nul_characters
    apply_body_limit()
    if request.method == "OPTIONS" or request.url_rule is None:
        return None  # routing answers 404/405, or the automatic OPTIONS answer
    needed = required_permission(current_app, request.endpoint, request.method)
    principal, failure = (None, None) if needed == PUBLIC else _identify()
    if principal is not None:
        g.crmkit_principal = principal
    limited = check_rate_limit()
    if limited is not None:
        return limited
    if needed == PUBLIC:
        return reject_nul_characters()
    if failure is not None:
        record_failed_login(failure.message)
        return unauthorized(failure.message)
    if principal is None:
        return unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    if needed is None:
        # Undeclared endpoints are closed to all but unrestricted principals (admins).
        if not principal.unrestricted:
            return error_response(403, "This endpoint declares no permission; only "
                                       "administrators may call it.")
    elif needed != AUTHENTICATED and not principal.can(needed):
        return error_response(403, f"This needs the permission {needed!r}.",
                              {"permission": needed})
    return reject_nul_characters()


def _request_id() -> str:
    sent = request.headers.get("X-Request-ID", "")
    return sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Install the gate ahead of every other before-request function (the transaction's too)."""
    from crmkit import idempotency, limits
    limits.init_app(app)
    app.before_request_funcs.setdefault(None, []).insert(0, gate)
    idempotency.init_app(app)
    # First in the list, so it runs last: after the request's transaction and connection closed.
    from crmkit.audit.trail import write_deferred
    app.teardown_request_funcs.setdefault(None, []).insert(0, write_deferred)

    @app.after_request
    def _echo_request_id(response):
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response

    _add_security_scheme(app)
    undeclared = sorted({f"{method} {rule}" for rule, method, _, needed in declared_endpoints(app)
                         if needed is None})
    if undeclared:
        log.warning("endpoints without a declared permission (admins only): %s",
                    ", ".join(undeclared))


def _add_security_scheme(app: Flask) -> None:
    api = app.extensions["crmkit"].api
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "An API token: `crmkit users token create` or "
                                      "POST /api/v1/auth/tokens"})
    api.spec.options["security"] = [{"bearerAuth": []}]
