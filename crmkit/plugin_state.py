"""Which plugins an installation has switched on or off, stored in the database."""
from __future__ import annotations

import os

import peewee

from crmkit.db import (BaseModel, UTCDateTimeField, connection, database, is_sqlite, utcnow,
                       write_transaction)


class PluginSetting(BaseModel):
    name = peewee.CharField(max_length=100, primary_key=True)
    enabled = peewee.BooleanField()
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "plugin_setting"


def stored_choices() -> dict[str, bool]:
    """The stored decisions; empty on a database that has not been set up yet."""
    if is_sqlite() and not os.path.exists(database.obj.database):
        return {}  # never create a database file just to read settings (`crmkit --help`)
    try:
        with connection():
            if not PluginSetting.table_exists():
                return {}
            return {row.name: row.enabled for row in PluginSetting.select()}
    except peewee.OperationalError:
        # A missing SQLite directory or an unreachable server: nothing is stored we could read.
        return {}


def store_choice(name: str, enabled: bool) -> None:
    with connection(), write_transaction():
        (PluginSetting
         .insert(name=name, enabled=enabled, updated_at=utcnow())
         .on_conflict(conflict_target=[PluginSetting.name],
                      update={PluginSetting.enabled: enabled, PluginSetting.updated_at: utcnow()})
         .execute())
