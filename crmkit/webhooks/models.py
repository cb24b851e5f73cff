"""Webhook subscriptions, one delivery per (event, subscription), and the log of attempts."""
from __future__ import annotations

import peewee

from crmkit.db import BaseModel, UTCDateTimeField, utcnow
from crmkit.events.models import Event

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class WebhookSubscription(BaseModel):
    url = peewee.CharField(max_length=2000)
    description = peewee.CharField(max_length=300, default="")
    secret = peewee.CharField(max_length=200)
    active = peewee.BooleanField(default=True)
    # Why it is inactive: "manual" or the automatic reason after a run of failures.
    disabled_reason = peewee.CharField(max_length=300, null=True)
    disabled_at = UTCDateTimeField(null=True)
    # The current run of failed attempts; any success resets both.
    consecutive_failures = peewee.IntegerField(default=0)
    failing_since = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "webhook_subscription"


class WebhookSubscriptionType(BaseModel):
    """One event-type pattern of a subscription, kept as rows so fan-out is one INSERT ... SELECT.

    ``prefix`` is NULL for an exact type, ``customer.`` for ``customer.*`` and empty for ``*``.
    """

    subscription = peewee.ForeignKeyField(WebhookSubscription, backref="type_rows",
                                          on_delete="CASCADE")
    pattern = peewee.CharField(max_length=100)
    prefix = peewee.CharField(max_length=100, null=True)

    class Meta:
        table_name = "webhook_subscription_type"
        indexes = ((("subscription", "pattern"), True),)


class WebhookDelivery(BaseModel):
    """An event owed to a subscription. Unique per pair: fan-out can never send an event twice."""

    id = peewee.BigAutoField()
    event = peewee.ForeignKeyField(Event, on_delete="CASCADE", field=Event.id)
    subscription = peewee.ForeignKeyField(WebhookSubscription, backref="deliveries",
                                          on_delete="CASCADE")
    status = peewee.CharField(max_length=16, default=PENDING)
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    lease = peewee.CharField(max_length=32, null=True)
    locked_until = UTCDateTimeField(null=True)
    last_status_code = peewee.IntegerField(null=True)
    last_error = peewee.TextField(null=True)
    delivered_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "webhook_delivery"
        indexes = (
            (("event", "subscription"), True),
            (("status", "next_attempt_at"), False),
            (("subscription", "id"), False),
        )


class WebhookAttempt(BaseModel):
    """One POST: its number, answer (or error) and how long it took."""

    id = peewee.BigAutoField()
    delivery = peewee.ForeignKeyField(WebhookDelivery, backref="attempt_rows",
                                      on_delete="CASCADE", field=WebhookDelivery.id)
    number = peewee.IntegerField()
    attempted_at = UTCDateTimeField(default=utcnow)
    status_code = peewee.IntegerField(null=True)
    latency_ms = peewee.IntegerField()
    error = peewee.TextField(null=True)
    succeeded = peewee.BooleanField(default=False)

    class Meta:
        table_name = "webhook_attempt"
        indexes = ((("delivery", "number"), False),)
