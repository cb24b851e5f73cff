"""A JSON column that works the same on SQLite and PostgreSQL (stored as text)."""
from __future__ import annotations

import json

import peewee


class JSONField(peewee.TextField):
    """Lists and dicts stored as compact JSON text.

    Text rather than PostgreSQL's jsonb so both engines hold, compare and migrate the same thing;
    nothing queries inside these values.
    """

    def db_value(self, value):
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)

    def python_value(self, value):
        if value is None:
            return None
        return json.loads(value)
