"""Settings: built-in defaults, then ``CRMKIT_*`` environment variables, then a mapping."""
from __future__ import annotations

import os
from collections.abc import Mapping

PREFIX = "CRMKIT_"

DEFAULTS: dict[str, object] = {
    "DATABASE_URL": "sqlite:///crmkit.db",
    # None means "whatever the database says"; a comma list pins the enabled set.
    "PLUGINS": None,
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
    # Per process; PostgreSQL only (SQLite pools without a cap).
    "DB_POOL_SIZE": 20,
    "MAX_PAGE_SIZE": 200,
    # Region for phone numbers typed without a country code (ISO 3166, e.g. "GB"); None means
    # every number must carry its +country code.
    "DEFAULT_PHONE_REGION": None,
    # Requests per token (or per address without a valid token); "N per second|minute|hour|day".
    "RATE_LIMIT": "600 per minute",
    "RATE_LIMIT_ANONYMOUS": "60 per minute",
    # Where rate-limit counters live; None keeps them in each process's memory.
    "REDIS_URL": None,
    "MAX_BODY_BYTES": 1_048_576,
    "MAX_UPLOAD_BYTES": 10_485_760,
    "LOG_LEVEL": "INFO",
}

# Settings whose environment value is not a plain string.
_INTEGERS = {"SQLITE_BUSY_TIMEOUT_MS", "MAX_PAGE_SIZE", "DB_POOL_SIZE", "MAX_BODY_BYTES",
             "MAX_UPLOAD_BYTES"}


class ConfigError(ValueError):
    """A setting has a value the kernel cannot use."""


def _coerce(key: str, value: object) -> object:
    if key in _INTEGERS and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{PREFIX}{key} must be a whole number, got {value!r}") from None
    return value


def load_config(overrides: Mapping[str, object] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """Merge defaults, environment and overrides; keys are stored without the prefix.

    Overrides may be given with or without the ``CRMKIT_`` prefix.
    """
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name, value in environ.items():
        if name.startswith(PREFIX):
            config[name[len(PREFIX):]] = value
    for name, value in (overrides or {}).items():
        key = name[len(PREFIX):] if name.startswith(PREFIX) else name
        config[key] = value
    return {key: _coerce(key, value) for key, value in config.items()}


def plugin_override(config: Mapping[str, object]) -> set[str] | None:
    """The enabled set pinned by ``CRMKIT_PLUGINS``, or None when the database decides."""
    value = config.get("PLUGINS")
    if value is None:
        return None
    if isinstance(value, str):
        return {name.strip() for name in value.split(",") if name.strip()}
    return set(value)
