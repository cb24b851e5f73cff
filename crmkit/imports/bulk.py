"""Set-based writes for bulk import: ids handed out up front, many rows per statement.

Inserting through the model one row at a time costs a statement (and a round trip) per row; here a
batch is one ``executemany`` on SQLite and one ``COPY`` on PostgreSQL. Values must already be what
the database stores (``field.db_value``), since no model field sees them on the way.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import peewee

from crmkit.db import database, is_sqlite


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def import_cache(kib: int = 64 * 1024, checkpoint_pages: int = 16384):
    """A larger SQLite page cache, and rarer WAL checkpoints, for the connection while a bulk
    import runs.

    Every insert updates a dozen indexes; with SQLite's default 2 MB cache a large import
    re-reads index pages from the file over and over. Each batch's commit appends the pages it
    changed to the WAL, and by default every commit past 1000 pages (4 MB) also checkpoints,
    copying them into the database file and syncing both: with batches of thousands of rows
    that was every commit, about a quarter of a million-row import (measured). Checkpointing
    every 64 MB instead copies each page once for many commits. PostgreSQL sizes its buffers
    and checkpoints itself.
    """
    if not is_sqlite():
        yield
        return
    before = database.execute_sql("PRAGMA cache_size").fetchone()[0]
    checkpoint_before = database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0]
    database.execute_sql(f"PRAGMA cache_size = -{int(kib)}")
    database.execute_sql(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA cache_size = {int(before)}")
        database.execute_sql(f"PRAGMA wal_autocheckpoint = {int(checkpoint_before)}")


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
    # The sequence is looked up once (OFFSET 0 keeps the subquery from being folded into the
    # select list): looked up for every id, it cost five times the nextval calls (measured).
    cursor = database.execute_sql(
        "SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq "
        "OFFSET 0) s, generate_series(1, %s)", (table, column, count))
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


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """``value`` as a field of PostgreSQL's COPY text format (backslash escapes)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value  # the common case, found by four scans in C instead of a translate


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


__all__ = ["allocate_ids", "copy_text", "import_cache", "insert_rows", "relax_commit",
           "select_in", "stored_time"]
