"""Marketing consent per channel: a history of grants and withdrawals, newest wins."""
from __future__ import annotations

import peewee

from crmkit.db import BaseModel, UTCDateTimeField, utcnow


class Consent(BaseModel):
    """One decision of a person about one channel. Rows are only added: the history is the proof
    of what the person agreed to, when and how."""

    customer_id = peewee.IntegerField()
    channel = peewee.CharField(max_length=30)
    granted = peewee.BooleanField()
    at = UTCDateTimeField(default=utcnow)
    source = peewee.CharField(max_length=100)  # "signup form", "phone call", "import", "erasure"
    recorded_by = peewee.CharField(max_length=254)

    class Meta:
        table_name = "consent"
        indexes = ((("customer_id", "channel", "at"), False),)
