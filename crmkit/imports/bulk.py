"""Set-based writes for bulk import: ids handed out up front, many rows per statement.

Inserting through the model one row at a time costs a statement (and a round trip) per row; here a
batch is one ``executemany`` on SQLite and one ``COPY`` on PostgreSQL. Values must already be what
the database stores (``field.db_value``), since no model field sees them on the way.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import peewee

from crmkit.db import database, is_sqlite, utcnow
from crmkit.events.models import Event
from crmkit.events.outbox import check_event_type, dumps


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def allocate_ids(model: type[peewee.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for ``model``, taken inside the caller's write transaction.

    On SQLite that transaction holds the database's write lock, so nobody else can take the ids
    after the current maximum. On PostgreSQL they come from the table's sequence, as a plain
    INSERT's would.
    """
    if count <= 0:
        return []
    table, column = model._meta.table_name, model._meta.primary_key.column_name
    if is_sqlite():
        start = database.execute_sql(
            f"SELECT MAX({_quote(column)}) FROM {_quote(table)}").fetchone()[0] or 0
        return list(range(start + 1, start + count + 1))
    cursor = database.execute_sql(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        (table, column, count))
    return [row[0] for row in cursor.fetchall()]


def insert_rows(model: type[peewee.Model], columns: Sequence[str],
                rows: Iterable[Sequence[object]]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``, database column names)."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return
    table = _quote(model._meta.table_name)
    names = ", ".join(_quote(c) for c in columns)
    if is_sqlite():
        marks = ", ".join("?" * len(columns))
        database.cursor().executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        return
    with database.connection().cursor() as cursor:
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def emit_many(event_type: str, items: Iterable[tuple[object, dict]], *,
              subject: str | None = None, schema_version: int = 1) -> int:
    """Record one event per ``(subject_id, payload)`` in the caller's transaction, as
    :func:`crmkit.events.emit` would one by one; returns how many."""
    check_event_type(event_type)
    occurred_at = Event.occurred_at.db_value(utcnow())
    tx = 0 if is_sqlite() else database.execute_sql("SELECT txid_current()").fetchone()[0]
    as_uuid = Event.uuid.db_value
    rows = [(tx, as_uuid(uuid.uuid4()), event_type, int(schema_version), occurred_at, subject,
             None if subject_id is None else str(subject_id), dumps(payload))
            for subject_id, payload in items]
    insert_rows(Event, ("tx", "uuid", "type", "schema_version", "occurred_at", "subject",
                        "subject_id", "payload"), rows)
    return len(rows)


__all__ = ["allocate_ids", "emit_many", "insert_rows"]
