"""Limits that keep one caller from hurting the others: request rates, body sizes, uploads.

- Rate limits per token (:mod:`crmkit.rate_limits`): ``CRMKIT_RATE_LIMIT`` for callers with a
  valid token, ``CRMKIT_RATE_LIMIT_ANONYMOUS`` per address for everyone else (logins, bad tokens).
  Counters live in memory, or in Redis when ``CRMKIT_REDIS_URL`` is set so that every worker
  shares them. A caller over the limit gets 429 with ``Retry-After``.
- Request bodies above ``CRMKIT_MAX_BODY_BYTES`` get 413 before anything parses them; endpoints
  marked :func:`accepts_upload` allow up to ``CRMKIT_MAX_UPLOAD_BYTES`` instead.
- :func:`read_upload` checks an uploaded file's size and that its bytes are what its type says.
- Page sizes: lists cap ``limit`` at ``CRMKIT_MAX_PAGE_SIZE`` (:func:`crmkit.pagination.clamp_limit`).
"""
from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from flask import Flask, current_app, g, request
from werkzeug.datastructures import FileStorage

from crmkit.errors import CrmkitError, ValidationError, error_response
from crmkit.rate_limits import RateLimiter, parse_limits

F = TypeVar("F", bound=Callable)

_UPLOAD_ATTR = "_crmkit_upload"


class PayloadTooLarge(CrmkitError):
    status = 413


class UnsupportedMediaType(CrmkitError):
    status = 415


# -- rate limits --------------------------------------------------------------------------------

def rate_key() -> str:
    principal = g.get("crmkit_principal")
    if principal is not None:
        return f"token:{principal.token_id}" if principal.token_id else f"user:{principal.user_id}"
    return f"ip:{request.remote_addr or 'unknown'}"


def _limit_for_caller() -> str:
    settings = current_app.extensions["crmkit"].config
    if g.get("crmkit_principal") is not None:
        return str(settings["RATE_LIMIT"])
    return str(settings["RATE_LIMIT_ANONYMOUS"])


def _exempt() -> bool:
    # Health checks and the documentation's static files are polled and fetched in bursts.
    from crmkit.auth.declare import PUBLIC_ENDPOINTS
    endpoint = request.endpoint or ""
    return (endpoint in PUBLIC_ENDPOINTS or endpoint.startswith("api-docs.")
            or endpoint.rsplit(".", 1)[-1] == "static")


def _storage(settings) -> tuple[str, str]:
    """Storage URI and a key prefix naming the installation, so one Redis can serve several."""
    redis_url = settings.get("REDIS_URL")
    installation = hashlib.sha256(str(settings["DATABASE_URL"]).encode()).hexdigest()[:12]
    return (str(redis_url) if redis_url else "memory://"), f"crmkit:{installation}"


def init_app(app: Flask) -> RateLimiter:
    settings = app.extensions["crmkit"].config
    app.config["MAX_CONTENT_LENGTH"] = int(settings["MAX_BODY_BYTES"])
    app.after_request(_rate_limit_headers)
    limiter = RateLimiter(*_storage(settings))
    app.extensions["crmkit_limiter"] = limiter
    return limiter


def check_rate_limit():
    """Count the request against the caller's budget (one budget per caller across every
    route); None when within it, else the 429 answer."""
    if not request.endpoint or _exempt():
        return None
    limiter: RateLimiter = current_app.extensions["crmkit_limiter"]
    outcome = limiter.check(parse_limits(_limit_for_caller()), rate_key())
    if outcome is None:
        return None
    g.crmkit_rate_limit = outcome
    if outcome.allowed:
        return None
    wait = max(1, math.ceil(outcome.reset_at - time.time()))
    g.crmkit_retry_after = wait
    return error_response(429, f"Too many requests ({outcome.item}); retry in {wait} s.",
                          headers={"Retry-After": str(wait)})


def _rate_limit_headers(response):
    outcome = g.get("crmkit_rate_limit")
    if outcome is not None:
        response.headers["X-RateLimit-Limit"] = str(outcome.item.amount)
        response.headers["X-RateLimit-Remaining"] = str(outcome.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(outcome.reset_at + 1))
    if response.status_code == 429 and "crmkit_retry_after" in g:
        response.headers["Retry-After"] = str(g.crmkit_retry_after)
    return response


# -- bodies and uploads -------------------------------------------------------------------------

def accepts_upload(view: F) -> F:
    """Mark a view that takes file uploads: its body may be up to ``CRMKIT_MAX_UPLOAD_BYTES``
    (plus room for the form around the file)."""
    setattr(view, _UPLOAD_ATTR, True)
    return view


def apply_body_limit() -> None:
    """Raise the body limit for upload endpoints; called by the gate before anything reads it."""
    view = current_app.view_functions.get(request.endpoint or "")
    handler = view
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, request.method.lower(), None)
    if handler is not None and getattr(handler, _UPLOAD_ATTR, False):
        request.max_content_length = upload_limit() + 64 * 1024


_SURROGATE = re.compile("[\ud800-\udfff]")
_NUL = "NUL characters are not allowed."
# JSON may escape half of a UTF-16 pair (\\ud800) on its own: no UTF-8 text can hold it.
_LONE_SURROGATE = "Unpaired UTF-16 surrogates (\\ud800-\\udfff) are not allowed."


def _text_problem(value) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return _NUL
        if not value.isascii() and _SURROGATE.search(value):
            return _LONE_SURROGATE
        return None
    if isinstance(value, dict):
        return next((p for k, v in value.items()
                     if (p := _text_problem(k) or _text_problem(v))), None)
    if isinstance(value, list):
        return next((p for v in value if (p := _text_problem(v))), None)
    return None


def reject_nul_characters():
    """A 422 for NUL characters in the path, query or JSON body (or lone surrogates in the
    body), else None.

    No text column can hold them (PostgreSQL refuses them outright), and no legitimate caller
    sends them; refusing them here keeps every door from failing on them later.
    """
    fields = {}
    if "\x00" in request.path:
        fields["path"] = [_NUL]
    bad_args = sorted({k for k, v in request.args.items(multi=True) if "\x00" in k + v})
    if bad_args:
        fields["query"] = {k: [_NUL] for k in bad_args}
    problem = request.is_json and request.content_length and _text_problem(
        request.get_json(silent=True))
    if problem:
        fields["json"] = {"_body": [problem]}
    if fields:
        return error_response(422, "Invalid input.", fields)
    return None


def upload_limit() -> int:
    return int(current_app.extensions["crmkit"].config["MAX_UPLOAD_BYTES"])


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# What a file of each type must start with (or be); a declared type is checked against its bytes.
SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": lambda d: d.startswith(b"%PDF-"),
    "image/png": lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda d: d.startswith(b"\xff\xd8\xff"),
    "image/gif": lambda d: d[:6] in (b"GIF87a", b"GIF89a"),
    "image/webp": lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP",
    "text/csv": _is_text,
    "text/plain": _is_text,
}


def read_upload(file: FileStorage | None, types: Iterable[str] = tuple(SIGNATURES),
                field: str = "file", max_bytes: int | None = None) -> bytes:
    """The uploaded file's bytes, after checking its size and that its content matches its
    declared type (one of ``types``). 413 when too large, 415 for a type not accepted."""
    if file is None or not file.filename:
        raise ValidationError({field: "Missing file."})
    limit = upload_limit() if max_bytes is None else max_bytes
    data = file.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
    declared = (file.mimetype or "").lower()
    accepted = sorted(types)
    if declared not in accepted:
        raise UnsupportedMediaType(f"Files of type {declared or 'unknown'!r} are not accepted "
                                   f"here; send one of: {', '.join(accepted)}.")
    check = SIGNATURES.get(declared)
    if check is not None and not check(data):
        raise UnsupportedMediaType(f"The file's content is not {declared}.")
    return data

