"""The in-app inbox and each user's channel choices per kind of notification."""
from __future__ import annotations

import peewee

from crmkit.auth.models import User
from crmkit.db import BaseModel, UTCDateTimeField, utcnow


class Notification(BaseModel):
    id = peewee.BigAutoField()
    user = peewee.ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    kind = peewee.CharField(max_length=100)
    message = peewee.TextField()
    link = peewee.CharField(max_length=2000, null=True)
    created_at = UTCDateTimeField(default=utcnow)
    read_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "notification"
        indexes = ((("user", "id"), False), (("user", "read_at"), False))


class NotificationPreference(BaseModel):
    """A user's channels for one kind; kind ``*`` is the user's default for kinds without a row."""

    user = peewee.ForeignKeyField(User, backref="notification_preferences", on_delete="CASCADE")
    kind = peewee.CharField(max_length=100)
    in_app = peewee.BooleanField(default=True)
    email = peewee.BooleanField(default=True)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "notification_preference"
        indexes = ((("user", "kind"), True),)
