"""Tables of the transactional outbox: the events themselves and each consumer's position."""
from __future__ import annotations

import peewee

from crmkit.db import BaseModel, UTCDateTimeField, utcnow


class Event(BaseModel):
    """One domain event, written in the same transaction as the change that caused it.

    ``id`` is the feed position: it is handed out in commit order (see :mod:`crmkit.events.feed`).
    The primary key is the only index, on purpose: every write request that emits would pay for
    another. ``uuid`` is unique by construction (a version 7 UUID: milliseconds and 74 random bits
    from ``os.urandom``) and nothing looks an event up by it; the feed filters by type and
    subject while walking ids.
    """

    id = peewee.BigAutoField()
    uuid = peewee.UUIDField()
    type = peewee.CharField(max_length=100)
    schema_version = peewee.IntegerField(default=1)
    occurred_at = UTCDateTimeField(default=utcnow)
    subject = peewee.CharField(max_length=100, null=True)
    subject_id = peewee.CharField(max_length=100, null=True)
    payload = peewee.TextField()  # JSON text; the same on both engines

    class Meta:
        table_name = "event"


class EventConsumer(BaseModel):
    """How far an in-process consumer of the outbox (webhook fan-out, say) has read."""

    name = peewee.CharField(max_length=100, primary_key=True)
    event_id = peewee.BigIntegerField(default=0)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "event_consumer"
