"""The event feed: committed events in a stable order, read with a keyset cursor.

Ids must be handed out in commit order, or a reader ordering by id would step past an event
that commits after a larger id and never see it. On SQLite writers are serialised by the database,
so that holds by itself. On PostgreSQL ``emit`` takes a transaction-scoped advisory lock with its
INSERT: transactions that emit events take turns from their first event to their commit (other
writers are not affected). A cursor is the id of the last event read, or, on a filtered
page, examined.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from peewee import fn

from crmkit.errors import ValidationError
from crmkit.events.models import Event

_CURSOR = re.compile(r"^\d{1,19}$")
_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


@dataclass(frozen=True, order=True)
class Cursor:
    """A feed position: the id of the last event read (0: before the first)."""

    event_id: int = 0

    def __str__(self) -> str:
        return str(self.event_id)

    @classmethod
    def parse(cls, text: str | None, field: str = "after") -> Cursor:
        if text is None or text == "":
            return cls()
        if not _CURSOR.match(text):
            raise ValidationError({field: "Not a cursor; use the next_cursor of a previous page."})
        return cls(int(text))

    @classmethod
    def of(cls, event: Event) -> Cursor:
        return cls(event.id)


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


def after(cursor: Cursor):
    return Event.id > cursor.event_id


# A filtered page examines at most this many events after its cursor. The outbox has no index
# but its primary key (each one would cost every write request that emits), so a filter is
# applied while walking ids; the window keeps a page cheap however rare the matching events are.
SCAN_WINDOW = 10_000


def committed_events(cursor: Cursor, limit: int, patterns: list[str] | None = None,
                     subject: str | None = None,
                     subject_id: str | None = None) -> tuple[list[Event], Cursor]:
    """Up to ``limit`` events after ``cursor``, oldest first, and the cursor to go on from.

    Without a filter that cursor is the last event returned. With one, the walk covers the next
    :data:`SCAN_WINDOW` events and stops there or at ``limit`` matches; in the first case the
    cursor moves to the window's last event, so the next call starts past the events that did
    not match.
    """
    filters = []
    condition = type_condition(Event.type, patterns or [])
    if condition is not None:
        filters.append(condition)
    if subject is not None:
        filters.append(Event.subject == subject)
    if subject_id is not None:
        filters.append(Event.subject_id == str(subject_id))
    if not filters:
        rows = list(Event.select().where(after(cursor)).order_by(Event.id).limit(limit))
        return rows, Cursor.of(rows[-1]) if rows else cursor
    end = window_end(cursor)
    if end is None:
        return [], cursor
    # The window's end is read first, and matches only up to it: an event committed in between
    # has a larger id (ids follow commit order), so it is left for the next page, not skipped.
    rows = list(Event.select().where(after(cursor), Event.id <= end, *filters)
                .order_by(Event.id).limit(limit))
    if len(rows) == limit:
        return rows, Cursor.of(rows[-1])
    return rows, Cursor(end)


def window_end(cursor: Cursor) -> int | None:
    """The id of the last of the :data:`SCAN_WINDOW` events after ``cursor`` (None: none).

    Counted in events, not ids: ids can have gaps (rolled-back inserts on PostgreSQL), and a
    window of ids inside a gap would hold nothing to move the cursor on to.
    """
    window = (Event.select(Event.id).where(after(cursor)).order_by(Event.id)
              .limit(SCAN_WINDOW).alias("window"))
    return Event.select(fn.MAX(window.c.id)).from_(window).scalar()


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
    an empty page keeps the cursor, so polling with it later picks up new events.

    With a filter a page may hold fewer than ``limit`` events, even none, and still have
    ``has_more``: it has walked :data:`SCAN_WINDOW` events and the next page goes on from there.
    """
    cursor = Cursor.parse(after_cursor)
    patterns = check_type_patterns(types or [])
    rows, last = committed_events(cursor, limit, patterns, subject, subject_id)
    has_more = Event.select().where(after(last)).exists()
    return FeedPage([{**envelope(e), "cursor": str(Cursor.of(e))} for e in rows], str(last),
                    has_more)
