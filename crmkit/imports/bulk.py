"""Set-based writes for bulk import: ids handed out up front, many rows per statement.

Inserting through the model one row at a time costs a statement (and a round trip) per row; here a
batch is one ``executemany`` on SQLite and one ``COPY`` on PostgreSQL. Values must already be what
the database stores (``field.db_value``), since no model field sees them on the way.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import peewee

from crmkit.db import database, is_sqlite, utcnow
from crmkit.events.models import Event
from crmkit.events.outbox import FEED_LOCK, _json_default, check_event_type


# The JSON of crmkit.events.outbox.dumps, with one encoder for a whole batch instead of one per
# call (json.dumps builds a new encoder whenever it is given options).
_encode = json.JSONEncoder(default=_json_default, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode


def _random_bits() -> int:
    """74 random bits spread over a version 7 UUID's rand_a and rand_b fields.

    Bulk events get time-ordered UUIDs (RFC 9562 version 7) rather than random ones: a batch's
    ids then land side by side in the event table's unique index instead of on random pages,
    which a million-row import pays for dearly. They are as unique as version 4 UUIDs.
    """
    bits = int.from_bytes(os.urandom(10), "big") >> 6
    return (bits >> 62) << 64 | (bits & (1 << 62) - 1)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def import_cache(kib: int = 64 * 1024):
    """A larger SQLite page cache for the connection while a bulk import runs.

    Every insert updates a dozen indexes; with SQLite's default 2 MB cache a large import
    re-reads index pages from the file over and over. PostgreSQL sizes its buffers itself.
    """
    if not is_sqlite():
        yield
        return
    before = database.execute_sql("PRAGMA cache_size").fetchone()[0]
    database.execute_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA cache_size = {int(before)}")


def stored_time(field: peewee.Field, value) -> object:
    """A datetime as ``field`` stores it, formatted once for a whole batch on SQLite (the text
    the sqlite3 adapter would make of it for every row)."""
    stored = field.db_value(value)
    return stored.isoformat(" ") if is_sqlite() and stored is not None else stored


def relax_commit() -> None:
    """Let the current PostgreSQL transaction commit without waiting for its WAL flush.

    For a bulk import's batches only: a crash can lose the last batches committed this way,
    but each batch carries the job's position with it, so the import resumes exactly after the
    last one that survived. Nothing else is affected (``SET LOCAL`` ends with the transaction).
    """
    if not is_sqlite():
        database.execute_sql("SET LOCAL synchronous_commit TO OFF")


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


def select_in(sql: str, values: Iterable[object], chunk: int = 5000) -> list[tuple]:
    """Rows of ``sql`` whose ``IN ({})`` is filled with ``values``, in chunks.

    Written as SQL rather than a peewee expression: building an expression with thousands of
    parameters costs more than running it. On PostgreSQL the list goes as one array parameter
    (``= ANY(%s)``): a thousand separate parameters cost the server more than the lookup.
    """
    values = list(values)
    rows: list[tuple] = []
    if not values:
        return rows
    if not is_sqlite():
        pg_sql = sql.replace("IN ({})", "= ANY(%s)")
        return database.execute_sql(pg_sql, (values,)).fetchall()
    for start in range(0, len(values), chunk):
        part = values[start:start + chunk]
        rows += database.execute_sql(sql.format(", ".join("?" * len(part))), part).fetchall()
    return rows


def emit_many(event_type: str, items: Iterable[tuple[object, dict]], *,
              subject: str | None = None, schema_version: int = 1) -> int:
    """Record one event per ``(subject_id, payload)`` in the caller's transaction, as
    :func:`crmkit.events.emit` would one by one; returns how many."""
    check_event_type(event_type)
    occurred_at = stored_time(Event.occurred_at, utcnow())
    stamp = int(time.time() * 1000) << 80 | 0x7 << 76 | 0x2 << 62
    rows = [(f"{stamp | _random_bits():032x}", event_type, int(schema_version), occurred_at,
             subject, None if subject_id is None else str(subject_id), _encode(payload))
            for subject_id, payload in items]
    if rows and not is_sqlite():
        # The turn emit() takes too: event ids must be handed out in commit order.
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (FEED_LOCK,))
    insert_rows(Event, ("uuid", "type", "schema_version", "occurred_at", "subject", "subject_id",
                        "payload"), rows)
    return len(rows)


__all__ = ["allocate_ids", "emit_many", "import_cache", "insert_rows", "relax_commit",
           "select_in", "stored_time"]
