"""The ``job`` table: the durable record of every one-off and periodic task run."""
from __future__ import annotations

import peewee

from crmkit.db import BaseModel, UTCDateTimeField, utcnow

PENDING, DONE, FAILED = "pending", "done", "failed"


class Job(BaseModel):
    """One requested run of a task.

    The worker claims a due row by writing a fresh ``lease`` token and ``locked_until``; only the
    holder of the current token may record the outcome. A run that dies keeps the row claimed until
    ``locked_until`` passes, and then the row is due again.
    """

    id = peewee.BigAutoField()
    task = peewee.CharField(max_length=200)
    kwargs = peewee.TextField(default="{}")
    status = peewee.CharField(max_length=16, default=PENDING)
    attempts = peewee.IntegerField(default=0)
    max_attempts = peewee.IntegerField(default=5)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    lease = peewee.CharField(max_length=32, null=True)
    locked_until = UTCDateTimeField(null=True)
    last_error = peewee.TextField(null=True)
    # Periodic runs use "<job>@<minute>"; callers may pass their own to make defer idempotent.
    dedupe_key = peewee.CharField(max_length=300, null=True, unique=True)
    created_at = UTCDateTimeField(default=utcnow)
    finished_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "job"
        indexes = ((("status", "next_attempt_at"), False),)
