"""Tables of the transactional outbox: the events themselves and each consumer's position."""
from __future__ import annotations

import peewee

from crmkit.db import BaseModel, UTCDateTimeField, utcnow


class Event(BaseModel):
    """One domain event, written in the same transaction as the change that caused it.

    ``tx`` and ``id`` together are the feed position. On SQLite writers are serialised, so ``id``
    order is commit order and ``tx`` stays 0. On PostgreSQL ids are handed out before commit, so a
    later id can commit first; ``tx`` holds the writing transaction's id and the feed only shows
    transactions older than every one still running (see :mod:`crmkit.events.feed`).
    """

    id = peewee.BigAutoField()
    tx = peewee.BigIntegerField(default=0)
    uuid = peewee.UUIDField(unique=True)
    type = peewee.CharField(max_length=100)
    schema_version = peewee.IntegerField(default=1)
    occurred_at = UTCDateTimeField(default=utcnow)
    subject = peewee.CharField(max_length=100, null=True)
    subject_id = peewee.CharField(max_length=100, null=True)
    payload = peewee.TextField()  # JSON text; the same on both engines

    class Meta:
        table_name = "event"
        indexes = (
            (("tx", "id"), False),
            (("type", "tx", "id"), False),
            (("subject", "subject_id"), False),
        )


class EventConsumer(BaseModel):
    """How far an in-process consumer of the outbox (webhook fan-out, say) has read."""

    name = peewee.CharField(max_length=100, primary_key=True)
    tx = peewee.BigIntegerField(default=0)
    event_id = peewee.BigIntegerField(default=0)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "event_consumer"
