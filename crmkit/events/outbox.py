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
from typing import Any

from crmkit.db import database, is_sqlite, utcnow
from crmkit.events.models import Event

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_TYPE_LENGTH = 100


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


def dumps(data: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): the same bytes every time for the same data."""
    return json.dumps(data, default=_json_default, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def uuid7() -> uuid.UUID:
    """A version 7 UUID (RFC 9562): milliseconds since 1970, then random bits.

    Time-ordered ids land at the right-hand end of the unique index instead of at a random page,
    which keeps the index write of every emit small.
    """
    millis = time.time_ns() // 1_000_000
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)          # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)          # RFC 4122 variant
    return uuid.UUID(int=value)


def check_event_type(event_type: str) -> None:
    if not isinstance(event_type, str) or len(event_type) > MAX_TYPE_LENGTH \
            or not EVENT_TYPE.match(event_type):
        raise ValueError(f"event type {event_type!r} must be dotted lower case words such as "
                         f"'customer.created' or 'sales.deal.stage_changed' (at most "
                         f"{MAX_TYPE_LENGTH} characters)")


def emit(event_type: str, payload: dict, *, subject: str | None = None, subject_id=None,
         schema_version: int = 1) -> Event:
    """Record a domain event in the caller's transaction and return it.

    ``event_type`` is dotted (``customer.created``; plugins start with their name:
    ``sales.deal.stage_changed``). ``payload`` must be JSON-ready; Decimal, datetime, date, UUID
    and Enum values are converted. ``subject``/``subject_id`` name the record the event is about
    (``"customer"``, ``42``) so the feed can be filtered by it. Bump ``schema_version`` when the
    payload of a type changes incompatibly.

    Call it inside the transaction that makes the change (every API write request is one); when
    that transaction rolls back, the event is gone too.
    """
    check_event_type(event_type)
    if not isinstance(payload, dict):
        raise TypeError(f"event payload must be a dict, got {type(payload).__name__}")
    row = {
        "uuid": uuid7(),
        "type": event_type,
        "schema_version": int(schema_version),
        "occurred_at": utcnow(),
        "subject": subject,
        "subject_id": None if subject_id is None else str(subject_id),
        "payload": dumps(payload),
    }
    event = Event(**row)
    params = [getattr(Event, name).db_value(row[name]) for name in _COLUMNS]
    cursor = database.execute_sql(_insert_sql(), params)
    event.id = cursor.lastrowid if is_sqlite() else cursor.fetchone()[0]
    return event


def emit_many(event_type: str, events, *, subject: str | None = None,
              schema_version: int = 1, batch: int = 1000) -> int:
    """Record many events of one type in the caller's transaction: ``events`` yields
    ``(subject_id, payload)`` pairs. Returns how many were written.

    The events are exactly those :func:`emit` would write, in the same order, but sent in
    multi-row INSERTs of ``batch`` rows: for bulk work (a tier evaluation moving thousands of
    members) where one round trip per event would cost more than the work itself.
    """
    check_event_type(event_type)
    converters = [getattr(Event, name).db_value for name in _COLUMNS]
    pending: list = []
    written = 0

    def flush():
        nonlocal written
        if not pending:
            return
        rows = len(pending) // len(_COLUMNS)
        if written == 0:
            take_turn()  # the turn emit takes (see _insert_sql), once for the transaction
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
            flush()
    flush()
    return written


FEED_LOCK = 7_263_510_938  # advisory lock key of the event feed (any constant of our own)


def take_turn() -> None:
    """Queue for the event feed now (PostgreSQL; SQLite serialises writers by itself).

    ``emit`` takes the turn with a transaction's first event and holds it to the commit. A
    transaction that locks rows first and emits afterwards can deadlock with one that emitted
    first and then wants those rows (a purchase is recorded, its event emitted, then a plugin
    locks the buyer's points balance). Calling this before taking row locks keeps one order:
    the feed's turn first, rows second. Taking it again in the same transaction is free.
    """
    if not is_sqlite():
        database.execute_sql(f"SELECT pg_advisory_xact_lock({FEED_LOCK})")


_COLUMNS = ("uuid", "type", "schema_version", "occurred_at", "subject", "subject_id", "payload")
_SQL: dict[bool, str] = {}


def _insert_sql() -> str:
    """The INSERT of an event, built once per engine: emit runs inside every write request, and
    having peewee compose the same statement each time costs more than executing it."""
    sqlite = is_sqlite()
    if sqlite not in _SQL:
        param = database.obj.param
        columns = ", ".join(f'"{name}"' for name in _COLUMNS)
        values = ", ".join([param] * len(_COLUMNS))
        table = f'"{Event._meta.table_name}"'
        if sqlite:
            _SQL[sqlite] = f"INSERT INTO {table} ({columns}) VALUES ({values})"
        else:
            # Event writers take turns from their first event to their commit, so ids are
            # handed out in commit order and a feed reader never steps past a late commit
            # (crmkit.events.feed). The lock goes with the INSERT: one round trip.
            _SQL[sqlite] = (f"INSERT INTO {table} ({columns}) SELECT {values} "
                            f"FROM (SELECT pg_advisory_xact_lock({FEED_LOCK})) AS turn "
                            f'RETURNING "id"')
    return _SQL[sqlite]
