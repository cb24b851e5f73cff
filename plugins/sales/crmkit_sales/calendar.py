"""Calendars: a user's tasks by date range, today's agenda, and a private iCalendar feed.

Calendar applications subscribe to a URL and cannot send an ``Authorization`` header, so the feed
URL itself carries a secret: ``/api/v1/sales/calendar/feeds/<prefix>_<secret>.ics``. As with API
tokens, the prefix finds the row, only a SHA-256 of the secret is stored, the comparison takes
constant time, and rotating the URL revokes the old one. The secret opens this one read-only feed
and nothing else.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets


from crmkit.auth import scoping
from crmkit.auth.models import User
from crmkit.db import utcnow
from crmkit.errors import NotFound

from crmkit_sales.models import CalendarFeed, Task
from crmkit_sales.settings import setting, timezone

_TOKEN = re.compile(r"^([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_DUMMY = hashlib.sha256(b"no such feed").hexdigest()
PRODID = "-//crmkit//crmkit-sales//EN"


def tasks_between(user_id: int | None, start: dt.datetime, end: dt.datetime,
                  include_done: bool = True, scoped: bool = True) -> list[Task]:
    """Tasks due in [start, end), for one user or (None) everyone the caller may see."""
    query = Task.select().where(Task.due_at >= start, Task.due_at < end,
                                Task.status != "cancelled")
    if user_id is not None:
        query = query.where(Task.assignee_id == user_id)
    if not include_done:
        query = query.where(Task.status == "open")
    if scoped:
        query = scoping.visible(query, Task)
    return list(query.order_by(Task.due_at, Task.id))


def day_bounds(day: dt.date, tz: dt.tzinfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    tz = tz or timezone()
    start = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def agenda(user_id: int, day: dt.date | None = None, scoped: bool = True) -> dict:
    """A user's day in the sales time zone: tasks due that day, and open ones overdue before it."""
    tz = timezone()
    day = day or utcnow().astimezone(tz).date()
    start, end = day_bounds(day, tz)
    overdue = Task.select().where(Task.assignee_id == user_id, Task.status == "open",
                                  Task.due_at < start)
    if scoped:
        overdue = scoping.visible(overdue, Task)
    return {"user_id": user_id, "date": day, "timezone": str(tz),
            "tasks": tasks_between(user_id, start, end, scoped=scoped),
            "overdue": list(overdue.order_by(Task.due_at, Task.id))}


# -- the feed -------------------------------------------------------------------------------------

def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_feed(user_id: int) -> str:
    """A new secret feed token for the user (the old URL stops working); shown once."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    CalendarFeed.delete().where(CalendarFeed.user_id == user_id).execute()
    CalendarFeed.create(user_id=user_id, key_prefix=prefix, key_hash=_hash(secret))
    return f"{prefix}_{secret}"


def revoke_feed(user_id: int) -> bool:
    return bool(CalendarFeed.delete().where(CalendarFeed.user_id == user_id).execute())


def feed_status(user_id: int) -> dict:
    feed = CalendarFeed.get_or_none(CalendarFeed.user_id == user_id)
    return {"active": feed is not None, "prefix": feed.key_prefix if feed else None,
            "created_at": feed.created_at if feed else None}


def user_for_feed(token: str) -> int:
    """The user whose feed this is; any bad token is the same 404 (nothing to learn from it)."""
    match = _TOKEN.match(token or "")
    feed = CalendarFeed.get_or_none(CalendarFeed.key_prefix == match.group(1)) if match else None
    expected = feed.key_hash if feed is not None else _DUMMY
    ok = hmac.compare_digest(expected, _hash(match.group(2) if match else token or ""))
    if not ok or feed is None:
        raise NotFound("No such calendar feed.")
    active = User.select().where(User.id == feed.user_id,
                                 User.active == True).exists()  # noqa: E712
    if not active:
        raise NotFound("No such calendar feed.")
    return feed.user_id


def feed_path(token: str) -> str:
    return f"/calendar/feeds/{token}.ics"


def render_feed(user_id: int, now: dt.datetime | None = None) -> bytes:
    """The user's tasks as an RFC 5545 calendar (CRLF lines, folded, UTC times)."""
    now = now or utcnow()
    start = now - dt.timedelta(days=setting("FEED_PAST_DAYS"))
    end = now + dt.timedelta(days=setting("FEED_FUTURE_DAYS"))
    user = User.get_by_id(user_id)
    # Imported here: icalendar costs ~50 ms, and every `crmkit` command loads this module.
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"crmkit tasks: {user.name}")
    cal.add("x-wr-timezone", "UTC")
    cal.add("refresh-interval", dt.timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    for task in tasks_between(user_id, start, end, scoped=False):
        event = Event()
        event.add("uid", f"sales-task-{task.id}@crmkit")
        event.add("dtstamp", now)
        event.add("dtstart", task.due_at)
        event.add("dtend", task.due_at + dt.timedelta(minutes=max(task.duration_minutes, 0)))
        event.add("summary", task.title)
        if task.description:
            event.add("description", task.description)
        if task.location:
            event.add("location", task.location)
        event.add("categories", [task.kind])
        event.add("status", "CONFIRMED")
        event.add("created", task.created_at)
        event.add("last-modified", task.updated_at)
        # The sequence grows with each change so clients replace their copy.
        event.add("sequence", int(task.updated_at.timestamp()) - int(task.created_at.timestamp()))
        if task.status == "done":
            event.add("x-crmkit-status", "done")
        cal.add_component(event)
    return cal.to_ical()
