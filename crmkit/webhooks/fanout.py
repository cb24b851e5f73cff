"""Fan-out: turn committed events into one delivery per matching active subscription.

It reads the outbox after its own position (``event_consumer`` row ``webhooks``) in batches and,
per batch, inserts every delivery with one INSERT ... SELECT and moves the position, in one
transaction. The pair (event, subscription) is unique, so a batch run twice (two workers, a crash
before commit) cannot create a second delivery.
"""
from __future__ import annotations

from peewee import Value, fn

from crmkit.db import is_sqlite, utcnow, write_transaction
from crmkit.events.feed import Cursor, after
from crmkit.events.models import Event, EventConsumer
from crmkit.webhooks.models import (PENDING, WebhookDelivery, WebhookSubscription,
                                    WebhookSubscriptionType)

CONSUMER = "webhooks"


def _position() -> EventConsumer:
    EventConsumer.insert(name=CONSUMER, updated_at=utcnow()).on_conflict_ignore().execute()
    query = EventConsumer.select().where(EventConsumer.name == CONSUMER)
    if not is_sqlite():
        query = query.for_update()  # one fan-out at a time, whatever the number of workers
    return query.get()


def _matches():
    pattern = WebhookSubscriptionType
    exact = pattern.prefix.is_null() & (Event.type == pattern.pattern)
    prefixed = pattern.prefix.is_null(False) & (
        fn.SUBSTR(Event.type, 1, fn.LENGTH(pattern.prefix)) == pattern.prefix)
    return exact | prefixed


def fan_out(batch_size: int = 1000) -> int:
    """Process one batch of the outbox; returns the number of events read (0: caught up)."""
    with write_transaction():
        consumer = _position()
        start = Cursor(consumer.event_id)
        positions = list(Event.select(Event.id).where(after(start)).order_by(Event.id)
                         .limit(batch_size).tuples())
        if not positions:
            return 0
        end = Cursor(positions[-1][0])
        now = WebhookDelivery.next_attempt_at.db_value(utcnow())
        rows = (Event
                .select(Event.id, WebhookSubscriptionType.subscription, Value(PENDING), Value(0),
                        Value(now), Value(now))
                .join(WebhookSubscriptionType, on=_matches())
                .join(WebhookSubscription,
                      on=(WebhookSubscription.id == WebhookSubscriptionType.subscription))
                .where(after(start) & ~after(end) & WebhookSubscription.active
                       # A subscription hears what happens after it was made, not the backlog.
                       & (Event.occurred_at >= WebhookSubscription.created_at))
                .distinct())
        (WebhookDelivery
         .insert_from(rows, [WebhookDelivery.event, WebhookDelivery.subscription,
                             WebhookDelivery.status, WebhookDelivery.attempts,
                             WebhookDelivery.next_attempt_at, WebhookDelivery.created_at])
         .on_conflict_ignore()
         .execute())
        (EventConsumer
         .update(event_id=end.event_id, updated_at=utcnow())
         .where(EventConsumer.name == CONSUMER)
         .execute())
    return len(positions)
