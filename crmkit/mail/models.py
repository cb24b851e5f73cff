"""The ``email_message`` table: outbound email, queued in the caller's transaction."""
from __future__ import annotations

import peewee

from crmkit.db import BaseModel, UTCDateTimeField, utcnow

PENDING, SENT, FAILED = "pending", "sent", "failed"


class EmailMessage(BaseModel):
    """One message and its sending state. The Message-ID is fixed when it is queued, so a
    message sent twice (a worker killed between the SMTP answer and recording it) carries the same
    id both times."""

    id = peewee.BigAutoField()
    message_id = peewee.CharField(max_length=300, unique=True)
    kind = peewee.CharField(max_length=100, null=True)  # "notification", "marketing.campaign" ...
    from_address = peewee.CharField(max_length=320, null=True)  # None: CRMKIT_SMTP_FROM
    reply_to = peewee.CharField(max_length=320, null=True)  # None: CRMKIT_SMTP_REPLY_TO
    to = peewee.TextField()  # JSON lists of addresses
    cc = peewee.TextField(default="[]")
    bcc = peewee.TextField(default="[]")
    subject = peewee.CharField(max_length=998)
    text_body = peewee.TextField(null=True)
    html_body = peewee.TextField(null=True)
    headers = peewee.TextField(default="{}")  # JSON object of extra headers
    status = peewee.CharField(max_length=16, default=PENDING)
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    lease = peewee.CharField(max_length=32, null=True)
    locked_until = UTCDateTimeField(null=True)
    last_error = peewee.TextField(null=True)
    sent_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "email_message"
        indexes = ((("status", "next_attempt_at"), False),)
