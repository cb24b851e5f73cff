"""Domain errors and the one JSON error shape every 4xx/5xx answer uses.

Domain code raises these without knowing about HTTP or click; the API maps them to status codes
and the CLI to messages with a non-zero exit, so both doors report the same thing.

Error body::

    {"code": 422, "status": "Unprocessable Entity", "message": "...",
     "errors": {"json": {"email": ["Not a valid email address."]}}}
"""
from __future__ import annotations

import logging

import marshmallow as ma
import peewee
from flask import current_app, jsonify
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger("crmkit.errors")


class CrmkitError(Exception):
    """Base for errors a user can act on."""

    status = 400

    def __init__(self, message: str, errors: dict | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.extra = extra or {}  # further top-level keys of the error body


class ValidationError(CrmkitError):
    """Input that breaks a rule; ``fields`` maps field name to messages."""

    status = 422

    def __init__(self, fields: dict[str, list[str] | str], message: str = "Invalid input.",
                 location: str = "json"):
        normalised = {k: v if isinstance(v, list) else [v] for k, v in fields.items()}
        # ``location`` says where the bad input was, as webargs does: json, query, form, files.
        super().__init__(message, {location: normalised})
        self.fields = normalised


class NotFound(CrmkitError):
    status = 404


class Conflict(CrmkitError):
    status = 409


class Unauthorized(CrmkitError):
    """No valid credentials: a missing, unknown, expired or revoked token, or a failed login."""

    status = 401


class Forbidden(CrmkitError):
    """Valid credentials that lack the permission the action needs."""

    status = 403


class ErrorSchema(ma.Schema):
    code = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict()


def error_response(code: int, message: str, errors: dict | None = None, headers=None,
                   extra: dict | None = None):
    body = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"), "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    response = jsonify(body)
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_http_exception(exc: HTTPException):
    # flask-smorest/webargs put marshmallow messages in exc.data["messages"].
    data = getattr(exc, "data", None) or {}
    errors = data.get("messages") or data.get("errors")
    message = data.get("message") or exc.description or HTTP_STATUS_CODES.get(exc.code, "")
    if exc.code == 422 and errors and message == default_exceptions[422].description:
        message = "Invalid input."
    headers = dict(data.get("headers") or {})
    if exc.code == 405 and exc.get_response().headers.get("Allow"):
        headers["Allow"] = exc.get_response().headers["Allow"]
    return error_response(exc.code or 500, message, errors, headers)


def handle_crmkit_error(exc: CrmkitError):
    return error_response(exc.status, exc.message, exc.errors, extra=exc.extra)


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    current_app.logger.exception("unhandled error")
    return error_response(500, "Internal server error.")


def init_app(app) -> None:
    app.register_error_handler(CrmkitError, handle_crmkit_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
    # Lost connections and lock timeouts are transient: 503, not a 500.
    app.register_error_handler(peewee.OperationalError, handle_database_unavailable)
    app.register_error_handler(peewee.InterfaceError, handle_database_unavailable)
    # A number or text the database cannot hold (an id beyond BIGINT in a query string): bad
    # input, not a server error.
    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(peewee.DataError, handle_out_of_range)


def handle_database_unavailable(exc: Exception):
    log.warning("database unavailable: %s", exc)
    return error_response(503, "The database is unavailable; try again shortly.",
                          headers={"Retry-After": "5"})


def handle_out_of_range(exc: Exception):
    log.info("input out of range: %s", exc)
    return error_response(422, "A value is out of the range the database can hold.")
