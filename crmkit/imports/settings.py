"""Settings of imports, read from the app's ``CRMKIT_*`` settings with their defaults here."""
from __future__ import annotations

import os
from collections.abc import Mapping

from crmkit.config import ConfigError

DEFAULTS: dict[str, object] = {
    # Rows per transaction: larger batches import faster and hold the write lock longer.
    "IMPORT_BATCH_SIZE": 2000,
    # A file with at least this many rows is read and checked in a worker process while the
    # importing process writes (crmkit.imports.pipeline); below it, starting one costs more.
    "IMPORT_WORKER_MIN_ROWS": 20000,
    # Where uploaded files wait for their job; every worker must see the same directory.
    "IMPORTS_DIR": "",
    # The largest file POST /api/v1/imports takes.
    "MAX_IMPORT_BYTES": 512 * 1024 * 1024,
}


def import_setting(config: Mapping[str, object], name: str):
    """The setting ``name`` (without prefix) from a Flask config or a crmkit settings dict."""
    value = config.get(f"CRMKIT_{name}", config.get(name))
    default = DEFAULTS[name]
    if value in (None, ""):
        value = default
    if isinstance(default, int):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"CRMKIT_{name} must be a whole number, got {value!r}") from None
        if value < 1:
            raise ConfigError(f"CRMKIT_{name} must be at least 1, got {value}")
    return value


def imports_dir(config: Mapping[str, object]) -> str:
    """CRMKIT_IMPORTS_DIR, else ``<database>-imports/`` beside a SQLite database, else
    ``crmkit-imports/`` in the working directory."""
    explicit = import_setting(config, "IMPORTS_DIR")
    if explicit:
        return str(explicit)
    url = str(config.get("CRMKIT_DATABASE_URL", config.get("DATABASE_URL")) or "")
    if url.startswith("sqlite") and ":memory:" not in url and ":///" in url:
        base, _ = os.path.splitext(url.split(":///", 1)[1])
        return f"{base}-imports"
    return os.path.abspath("crmkit-imports")
