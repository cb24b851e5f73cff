"""Settings of the worker, webhooks and email, read from the app's ``CRMKIT_*`` settings.

They live here rather than in :mod:`crmkit.config` so the defaults sit next to the code that uses
them; each value is converted to the type of its default (``"true"``/``"1"`` for booleans).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from crmkit.config import ConfigError

DEFAULTS: dict[str, object] = {
    # Background jobs
    "JOBS_DATABASE": "",          # huey's SQLite file; default: next to the CRM database
    "REDIS_URL": "",              # huey on Redis instead of SQLite when set
    "JOBS_QUEUE_NAME": "crmkit",  # huey's queue; give installations sharing a Redis their own
    "JOBS_IMMEDIATE": False,      # run huey tasks in the calling thread (tests, debugging)
    "WORKER_POLL_SECONDS": 1.0,   # how often the worker looks for due work
    # Webhooks
    "WEBHOOKS_ALLOW_PRIVATE": False,
    "WEBHOOKS_ALLOWED_HOSTS": "",  # comma list of host names, addresses or networks (CIDR)
    "WEBHOOKS_TIMEOUT_SECONDS": 10.0,
    "WEBHOOKS_MAX_ATTEMPTS": 14,   # 30 s doubling, capped at 6 h: about 26 hours in all
    "WEBHOOKS_RETRY_BASE_SECONDS": 30.0,
    "WEBHOOKS_RETRY_MAX_SECONDS": 21600.0,
    "WEBHOOKS_DISABLE_AFTER_FAILURES": 50,
    "WEBHOOKS_DISABLE_AFTER_HOURS": 24.0,
    "WEBHOOKS_BATCH_SIZE": 50,
    # Email
    "SMTP_HOST": "",
    "SMTP_PORT": 0,                # 0: 465 for ssl, else 587 for starttls, else 25
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_TLS": "starttls",        # none, starttls or ssl
    "SMTP_CA_FILE": "",            # CA bundle for a server with a private certificate
    "SMTP_FROM": "",
    "SMTP_REPLY_TO": "",
    "SMTP_TIMEOUT_SECONDS": 30.0,
    "SMTP_MAX_ATTEMPTS": 8,
    "SMTP_RETRY_BASE_SECONDS": 60.0,
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def setting(config: Mapping[str, object], name: str):
    """The value of ``name`` (without the prefix) with the type of its default."""
    default = DEFAULTS[name]
    value = config.get(name, default)
    if value is None:
        return default
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in _TRUE | _FALSE:
                    raise ValueError
                return lowered in _TRUE
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"CRMKIT_{name} must be a {type(default).__name__}, "
                          f"got {value!r}") from None
    return str(value)


def jobs_database_path(config: Mapping[str, object]) -> str:
    """huey's SQLite file: CRMKIT_JOBS_DATABASE, else ``<crm database>-jobs.db`` beside it."""
    explicit = setting(config, "JOBS_DATABASE")
    if explicit:
        return explicit[len("sqlite:///"):] if explicit.startswith("sqlite:///") else explicit
    url = str(config.get("DATABASE_URL") or "")
    if url.startswith("sqlite") and ":memory:" not in url:
        path = url.split(":///", 1)[1] if ":///" in url else "crmkit.db"
        base, _ = os.path.splitext(path)
        return f"{base}-jobs.db"
    return "crmkit-jobs.db"
