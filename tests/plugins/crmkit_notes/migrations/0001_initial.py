"""notes: the note table, before pinning existed."""
import datetime

from peewee import DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class Note(Model):
        customer_ref = IntegerField(index=True)
        body = TextField()
        created_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            database = db
            table_name = "notes_note"

    db.create_tables([Note])
