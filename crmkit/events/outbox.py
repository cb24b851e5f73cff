"""``emit``: write a domain event into the outbox, inside the caller's transaction.

Nothing leaves the process here. The worker reads committed events later and turns them into
webhook deliveries; a change that rolls back takes its events with it.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import peewee

from crmkit.db import QueuedWrites, database, is_sqlite, utcnow
from crmkit.events import pg_commit
from crmkit.events.models import Event

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_TYPE_LENGTH = 100
_CHECKED_TYPES: set[str] = set()  # types already found well-formed: emit runs in every write


def _json_default(value: Any) -> Any:
    # Money stays exact (a string, never a float); times are ISO 8601.
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"event payload value {value!r} of type {type(value).__name__} "
                    "is not JSON serialisable")


# One encoder for every call: json.dumps with options builds a new JSONEncoder each time, and
# emit runs in every write request. The encoder keeps no state between calls, so threads share it.
_ENCODER = json.JSONEncoder(default=_json_default, sort_keys=True, separators=(",", ":"),
                            ensure_ascii=False)


def dumps(data: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): the same bytes every time for the same data."""
    return _ENCODER.encode(data)


_UUID7_FLAGS = 0x7 << 76 | 0x2 << 62  # version 7 and the RFC 4122 variant


def uuid7() -> uuid.UUID:
    """A version 7 UUID (RFC 9562): milliseconds since 1970, then 74 random bits.

    Unique by construction, so the outbox needs no index to enforce it, and time-ordered, so
    receivers that store them keep them in the order they were made.
    """
    random = int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(int=(time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF) << 80
                     | (random >> 68) << 64 | (random & 0x3FFF_FFFF_FFFF_FFFF) | _UUID7_FLAGS)


def check_event_type(event_type: str) -> None:
    if not isinstance(event_type, str) or len(event_type) > MAX_TYPE_LENGTH \
            or not EVENT_TYPE.match(event_type):
        raise ValueError(f"event type {event_type!r} must be dotted lower case words such as "
                         f"'customer.created' or 'sales.deal.stage_changed' (at most "
                         f"{MAX_TYPE_LENGTH} characters)")


@dataclass(eq=False)
class Emitted:
    """An event ``emit`` has queued: ``id`` (its feed position) is set when it is written, at the
    transaction's commit (or at once outside a transaction)."""

    uuid: uuid.UUID
    type: str
    schema_version: int
    occurred_at: dt.datetime
    subject: str | None
    subject_id: str | None
    payload: str  # canonical JSON
    id: int | None = None


def emit(event_type: str, payload: dict, *, subject: str | None = None, subject_id=None,
         schema_version: int = 1) -> Emitted:
    """Record a domain event in the caller's transaction and return it.

    ``event_type`` is dotted (``customer.created``; plugins start with their name:
    ``sales.deal.stage_changed``). ``payload`` must be JSON-ready; Decimal, datetime, date, UUID
    and Enum values are converted. ``subject``/``subject_id`` name the record the event is about
    (``"customer"``, ``42``) so the feed can be filtered by it. Bump ``schema_version`` when the
    payload of a type changes incompatibly.

    Call it inside the transaction that makes the change (every API write request is one); when
    that transaction (or the savepoint around the call) rolls back, the event is gone too. The
    row is written just before the transaction commits: see :class:`crmkit.db.QueuedWrites`.
    """
    if event_type not in _CHECKED_TYPES:
        check_event_type(event_type)
        _CHECKED_TYPES.add(event_type)
    if not isinstance(payload, dict):
        raise TypeError(f"event payload must be a dict, got {type(payload).__name__}")
    event = Emitted(uuid7(), event_type, int(schema_version), utcnow(), subject,
                    None if subject_id is None else str(subject_id), dumps(payload))
    queue = database.obj.queued_writes()
    if queue is None:
        write_events([event])
    else:
        queue.append(event)
    return event


def write_events(events: list[Emitted], db: peewee.Database | None = None) -> None:
    """Insert queued events in the current transaction, in the order they were emitted."""
    db = database.obj if db is None else db
    sqlite = isinstance(db, peewee.SqliteDatabase)
    sql = _insert_sql(db)
    with peewee.__exception_wrapper__:
        connection = db.connection()
        for event in events:
            cursor = connection.execute(sql, _row(event, sqlite))
            event.id = cursor.lastrowid if sqlite else cursor.fetchone()[0]


def commit_events(events: list[Emitted], db: peewee.Database) -> bool:
    """On PostgreSQL, insert the events and COMMIT in one round trip (libpq's pipeline mode, see
    :mod:`crmkit.events.pg_commit`); False on SQLite, where there is no round trip to save.

    Sent on its own, the event's statement costs a network round trip, about a tenth of a small
    write request; sent with the COMMIT it costs only the server's work.
    """
    if isinstance(db, peewee.SqliteDatabase):
        return False
    with peewee.__exception_wrapper__:
        connection = db.connection()
        if not pg_commit.usable(connection):
            return False
        ids = pg_commit.insert_and_commit(connection, b"crmkit_event_insert", _PG_PREPARED,
                                          [_row(event, False) for event in events])
    for event, event_id in zip(events, ids):
        event.id = event_id
    return True


def _row(event: Emitted, sqlite: bool) -> tuple:
    """The INSERT's parameters: what ``Event``'s fields would store, without asking each field.

    The time is stored as naive UTC (``UTCDateTimeField``); on SQLite as the text sqlite3's own
    datetime adapter would have written.
    """
    occurred_at = event.occurred_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (event.uuid.hex, event.type, event.schema_version,
            occurred_at.isoformat(" ") if sqlite else occurred_at, event.subject,
            event.subject_id, event.payload)


def flush() -> None:
    """Write the events this transaction has queued now, so a query in the same transaction
    sees them (the commit writes them anyway)."""
    database.obj.write_queued()


def emit_many(event_type: str, events, *, subject: str | None = None,
              schema_version: int = 1, batch: int = 1000) -> int:
    """Record many events of one type in the caller's transaction: ``events`` yields
    ``(subject_id, payload)`` pairs. Returns how many were written.

    The events are exactly those :func:`emit` would write, in the same order, but sent in
    multi-row INSERTs of ``batch`` rows: for bulk work (a tier evaluation moving thousands of
    members) where one round trip per event would cost more than the work itself.
    """
    check_event_type(event_type)
    flush()  # events emitted earlier in the transaction keep their place before these
    converters = [getattr(Event, name).db_value for name in _COLUMNS]
    pending: list = []
    written = 0

    def send():
        nonlocal written
        if not pending:
            return
        rows = len(pending) // len(_COLUMNS)
        if written == 0:
            take_turn()  # the turn emit takes at commit (see _insert_sql), held from here on
        one = "(" + ", ".join([database.obj.param] * len(_COLUMNS)) + ")"
        columns = ", ".join(f'"{name}"' for name in _COLUMNS)
        database.execute_sql(f'INSERT INTO "{Event._meta.table_name}" ({columns}) VALUES '
                             + ", ".join([one] * rows), pending)
        written += rows
        pending.clear()

    for subject_id, payload in events:
        if not isinstance(payload, dict):
            raise TypeError(f"event payload must be a dict, got {type(payload).__name__}")
        row = (uuid7(), event_type, int(schema_version), utcnow(), subject,
               None if subject_id is None else str(subject_id), dumps(payload))
        pending.extend(convert(value) for convert, value in zip(converters, row))
        if len(pending) >= batch * len(_COLUMNS):
            send()
    send()
    return written


FEED_LOCK = 7_263_510_938  # advisory lock key of the event feed (any constant of our own)


def take_turn() -> None:
    """Queue for the event feed now (PostgreSQL; SQLite serialises writers by itself).

    Event writers take turns so that ids follow commit order (see :mod:`crmkit.events.feed`).
    ``emit`` takes the turn only at its transaction's commit, when its queued rows are written,
    so the turn is the last lock such a transaction asks for and it never waits for a row while
    holding it. ``emit_many`` and this function take it at once and hold it to the commit: call
    them before taking row locks, never after, or a transaction holding those rows and waiting
    at its commit for the turn deadlocks with this one. Taking it again is free.
    """
    if not is_sqlite():
        database.execute_sql(f"SELECT pg_advisory_xact_lock({FEED_LOCK})")


_COLUMNS = ("uuid", "type", "schema_version", "occurred_at", "subject", "subject_id", "payload")
_SQL: dict[bool, str] = {}
# The same INSERT for pg_commit, which sends every value as text: each one is cast to its column.
_PG_PREPARED = (
    'INSERT INTO "event" (' + ", ".join(f'"{name}"' for name in _COLUMNS) + ") "
    "SELECT $1::uuid, $2::varchar, $3::integer, $4::timestamp, $5::varchar, $6::varchar, $7::text "
    f'FROM (SELECT pg_advisory_xact_lock({FEED_LOCK})) AS turn RETURNING "id"').encode()


def _insert_sql(db: peewee.Database | None = None) -> str:
    """The INSERT of an event, built once per engine: emit runs inside every write request, and
    having peewee compose the same statement each time costs more than executing it."""
    db = database.obj if db is None else db
    sqlite = isinstance(db, peewee.SqliteDatabase)
    sql = _SQL.get(sqlite)
    if sql is None:
        columns = ", ".join(f'"{name}"' for name in _COLUMNS)
        values = ", ".join([db.param] * len(_COLUMNS))
        table = f'"{Event._meta.table_name}"'
        if sqlite:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({values})"
        else:
            # Event writers take turns from writing their events to their commit, so ids are
            # handed out in commit order and a feed reader never steps past a late commit
            # (crmkit.events.feed). The lock goes with the INSERT: one round trip.
            sql = (f"INSERT INTO {table} ({columns}) SELECT {values} "
                   f"FROM (SELECT pg_advisory_xact_lock({FEED_LOCK})) AS turn "
                   f'RETURNING "id"')
        _SQL[sqlite] = sql
    return sql


QueuedWrites.write_items = staticmethod(write_events)
QueuedWrites.commit_items = staticmethod(commit_events)
