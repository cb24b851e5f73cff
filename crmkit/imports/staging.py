"""Checked rows handed from the reading worker to the writing process as a SQLite file.

On SQLite the process that writes is an import's bottleneck, and much of its time went to Python
work per row: unpickling the batch from the worker, building each row's tuples, and binding them
one by one in ``executemany``. When every row of a batch is a plain new customer (checked in full
by the worker, one email at most, nothing else to store), the worker writes the rows into a
small SQLite file of their own, once per batch; the writer attaches that file and moves them
with one ``INSERT ... SELECT`` per table (measured on 200,000 rows: the writer's part of a batch
went from ~2.5 s to ~1.0 s, the worker's grew by ~0.4 s). Should any row of the batch match a
customer, or the batch fail as a whole, its rows are read back (:func:`rows`) and take the
general path, row for row what they would have been without the file.

A file holds one batch and lives until that batch is committed (or the import ends): the job's
position commits with the batch as before, so resuming is unchanged.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from crmkit.db import database

SCHEMA = "import_stage"
TABLE = "staged_row"
# Before the customer's columns: the row's number in the file, the key it is matched on (the
# same as the row's only key), its cells (marshalled, to update a customer it matches), and
# the key of the email stored with it.
_LEAD = ("file_row", "match_key", "cells", "email_key")


class Staged:
    """A batch's plain rows, stored in the file at ``path`` (``count`` rows, the first of
    them row ``row`` of the file)."""

    __slots__ = ("path", "count", "row")

    def __init__(self, path: str, count: int, row: int):
        self.path, self.count, self.row = path, count, row

    def __len__(self) -> int:
        return self.count

    def __reduce__(self):
        return Staged, (self.path, self.count, self.row)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def stage(items: list, rows: Sequence[tuple], columns: Sequence[str], path: str) -> list:
    """Write ``rows`` (the leading values, then ``columns``) to a new file at ``path``; returns
    ``items`` (what is not a row to stage: Outcomes, blank rows) with the file's :class:`Staged`.

    Runs in the reading worker. The file serves one batch for seconds: no journal, no syncs.
    """
    names = ", ".join(_quote(c) for c in (*_LEAD, *columns))
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.execute("BEGIN")
        # Columns without a type keep each value as the worker made it (no affinity), so the
        # INSERT ... SELECT stores what an executemany of the same values would.
        con.execute(f"CREATE TABLE {TABLE} (seq INTEGER PRIMARY KEY, {names})")
        con.executemany(f"INSERT INTO {TABLE} ({names}) VALUES "
                        f"({', '.join('?' * (len(_LEAD) + len(columns)))})", rows)
        con.execute("COMMIT")
    finally:
        con.close()
    return [*items, Staged(path, len(rows), rows[0][0])]


def rows_in(batch: list) -> int:
    """How many rows of the file a batch stands for."""
    return sum(item.count if type(item) is Staged else 1 for item in batch)


@contextmanager
def attached(batch: list) -> Iterator[None]:
    """The batch's staged file attached as ``import_stage`` for the block, removed after it.

    ATTACH and DETACH cannot run inside a transaction: this goes around the batch's.
    """
    staged = [item for item in batch if type(item) is Staged]
    if not staged:
        yield
        return
    (block,) = staged
    database.execute_sql(f"ATTACH DATABASE ? AS {SCHEMA}", (block.path,))
    try:
        yield
    finally:
        database.execute_sql(f"DETACH DATABASE {SCHEMA}")
        remove(block.path)


def remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def any_match() -> bool:
    """Whether a staged row's key is a stored email's (the rows then take the general path)."""
    return database.execute_sql(
        f"SELECT 1 FROM {SCHEMA}.{TABLE} s CROSS JOIN contact_email e "
        "ON e.email_key = s.match_key LIMIT 1").fetchone() is not None


def insert_select(table: str, target: Sequence[str], source: str, where: str = "",
                  params: Sequence[object] = ()) -> None:
    """``INSERT INTO table (target) SELECT source FROM`` the staged rows, in file order."""
    names = ", ".join(_quote(c) for c in target)
    database.execute_sql(
        f"INSERT INTO {_quote(table)} ({names}) SELECT {source} FROM {SCHEMA}.{TABLE} "
        f"{where} ORDER BY seq", params)


def source_columns(columns: Sequence[str]) -> str:
    return ", ".join(_quote(c) for c in columns)


def rows(columns: Sequence[str]) -> list[tuple]:
    """The staged rows as stored: the leading values, then ``columns``."""
    names = ", ".join(_quote(c) for c in (*_LEAD, *columns))
    return database.execute_sql(f"SELECT {names} FROM {SCHEMA}.{TABLE} ORDER BY seq").fetchall()


def file_rows() -> list[int]:
    return [r[0] for r in database.execute_sql(
        f"SELECT file_row FROM {SCHEMA}.{TABLE} ORDER BY seq").fetchall()]


__all__ = ["Staged", "any_match", "attached", "file_rows", "insert_select", "remove", "rows",
           "rows_in", "source_columns", "stage"]
