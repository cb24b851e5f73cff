"""notes: notes can be pinned."""
from peewee import BooleanField


def up(migrator, db):
    migrator.migrate(migrator.add_column("notes_note", "pinned", BooleanField(default=False)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("notes_note", "pinned"))
