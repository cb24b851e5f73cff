"""Sales settings: ``CRMKIT_SALES_*`` environment variables, or ``SALES_*`` keys given to
``create_app``, over these defaults."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context, has_request_context, request

DEFAULTS: dict[str, object] = {
    # Local time for due dates such as "next business day 10:00".
    "TIMEZONE": "UTC",
    # An overdue task alerts its assignee at once and their manager after this many minutes.
    "ESCALATION_MINUTES": 60,
    "ATTACHMENT_MAX_BYTES": 5 * 1024 * 1024,
    "ATTACHMENT_TYPES": "application/pdf,image/png,image/jpeg,image/gif,image/webp,text/plain,"
                        "text/csv",
    # The seller, as documents print it.
    "COMPANY_NAME": "",
    "COMPANY_ADDRESS": "",
    "PAYMENT_DETAILS": "",
    "PAYMENT_DAYS": 14,
    # How far back and ahead the calendar feed reaches.
    "FEED_PAST_DAYS": 30,
    "FEED_FUTURE_DAYS": 365,
    # The address people reach the API at, for links in notifications and feed URLs.
    "PUBLIC_URL": "",
}

_INTEGERS = {"ESCALATION_MINUTES", "ATTACHMENT_MAX_BYTES", "PAYMENT_DAYS", "FEED_PAST_DAYS",
             "FEED_FUTURE_DAYS"}


def setting(name: str):
    value = DEFAULTS[name]
    if has_app_context():
        value = current_app.config.get(f"CRMKIT_SALES_{name}", value)
    if name in _INTEGERS:
        value = int(value)
    return value


def timezone() -> dt.tzinfo:
    name = str(setting("TIMEZONE"))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"CRMKIT_SALES_TIMEZONE={name!r} is not a time zone such as "
                         "'Europe/Berlin'") from None


def link(path: str) -> str:
    """An absolute link: the configured public address, else the address of this request, else
    (jobs without either) the path under the API."""
    base = str(setting("PUBLIC_URL") or "")
    if not base and has_request_context():
        base = request.host_url
    return f"{base.rstrip('/')}/api/v1/sales{path}"
