"""The event feed: committed events in a stable order, read with a keyset cursor.

A position is ``(tx, id)``. On SQLite ``tx`` is always 0 and ids are handed out in commit order,
because writers are serialised. On PostgreSQL ids are handed out when a row is inserted, so an
event with a smaller id may commit after one with a larger id; a reader ordering by id alone
would step past it for good. There the feed shows only events of transactions older than the
oldest transaction still running (``txid_snapshot_xmin``): those will never change, and any event
still to come has a larger ``tx``. A long-running transaction delays the feed; it never loses an
event.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from peewee import fn

from crmkit.db import is_sqlite
from crmkit.errors import ValidationError
from crmkit.events.models import Event

_CURSOR = re.compile(r"^(\d{1,19})-(\d{1,19})$")
_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


@dataclass(frozen=True, order=True)
class Cursor:
    tx: int = 0
    event_id: int = 0

    def __str__(self) -> str:
        return f"{self.tx}-{self.event_id}"

    @classmethod
    def parse(cls, text: str | None, field: str = "after") -> Cursor:
        if text is None or text == "":
            return cls()
        match = _CURSOR.match(text)
        if not match:
            raise ValidationError({field: "Not a cursor; use the next_cursor of a previous page."})
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, event: Event) -> Cursor:
        return cls(event.tx or 0, event.id)


def check_type_patterns(patterns: list[str], field: str = "type") -> list[str]:
    """Event type patterns: an exact type, ``prefix.*`` or ``*``."""
    bad = [p for p in patterns if not _PATTERN.match(p)]
    if bad:
        raise ValidationError({field: f"Not an event type or pattern: {', '.join(bad)} "
                                      "(use customer.created, customer.* or *)."})
    return patterns


def type_condition(column, patterns: list[str]):
    """A WHERE condition matching ``column`` against type patterns (None: no restriction)."""
    if not patterns or "*" in patterns:
        return None
    exact = [p for p in patterns if not p.endswith("*")]
    condition = column.in_(exact) if exact else None
    for pattern in patterns:
        if pattern.endswith(".*"):
            clause = column.startswith(pattern[:-1])  # peewee escapes LIKE wildcards such as _
            condition = clause if condition is None else (condition | clause)
    return condition


def visible():
    """The condition for events whose transaction is final (always true on SQLite)."""
    if is_sqlite():
        return None
    return Event.tx < fn.txid_snapshot_xmin(fn.txid_current_snapshot())


def after(cursor: Cursor):
    return (Event.tx > cursor.tx) | ((Event.tx == cursor.tx) & (Event.id > cursor.event_id))


def committed_events(cursor: Cursor, limit: int, patterns: list[str] | None = None,
                     subject: str | None = None, subject_id: str | None = None):
    """Up to ``limit`` final events after ``cursor``, oldest first."""
    query = Event.select().where(after(cursor))
    for condition in (visible(), type_condition(Event.type, patterns or [])):
        if condition is not None:
            query = query.where(condition)
    if subject is not None:
        query = query.where(Event.subject == subject)
    if subject_id is not None:
        query = query.where(Event.subject_id == str(subject_id))
    return list(query.order_by(Event.tx, Event.id).limit(limit))


def envelope(event: Event) -> dict:
    """The JSON shape of an event in the feed and in webhook bodies (docs/events.md)."""
    occurred = event.occurred_at
    return {
        "id": str(event.uuid),
        "type": event.type,
        "schema_version": event.schema_version,
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
        "subject": event.subject,
        "subject_id": event.subject_id,
        "payload": json.loads(event.payload),
    }


@dataclass
class FeedPage:
    events: list[dict]
    next_cursor: str
    has_more: bool


def read_feed(after_cursor: str | None = None, types: list[str] | None = None,
              limit: int = 100, subject: str | None = None,
              subject_id: str | None = None) -> FeedPage:
    """One page of the feed. Pass ``next_cursor`` back as ``after_cursor`` for the next page;
    an empty page keeps the cursor, so polling with it later picks up new events."""
    cursor = Cursor.parse(after_cursor)
    patterns = check_type_patterns(types or [])
    rows = committed_events(cursor, limit + 1, patterns, subject, subject_id)
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = Cursor.of(rows[-1]) if rows else cursor
    return FeedPage([{**envelope(e), "cursor": str(Cursor.of(e))} for e in rows], str(last),
                    has_more)
