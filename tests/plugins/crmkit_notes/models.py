import peewee

from crmkit.db import BaseModel, UTCDateTimeField, utcnow


class Note(BaseModel):
    customer_ref = peewee.IntegerField(index=True)
    body = peewee.TextField()
    pinned = peewee.BooleanField(default=False)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "notes_note"
