"""Kernel: the event outbox keeps only its primary key.

Every write request that emits an event paid for two more index entries: the UUID, unique by
construction (milliseconds and 74 random bits) and never looked up, and (type, id), which the feed
no longer needs because a filtered page walks at most a window of ids (crmkit.events.feed).
"""


def up(migrator, db):
    migrator.migrate(migrator.drop_index("event", "event_uuid"),
                     migrator.drop_index("event", "event_type_id"))


def down(migrator, db):
    migrator.migrate(migrator.add_index("event", ("uuid",), True),
                     migrator.add_index("event", ("type", "id"), False))
