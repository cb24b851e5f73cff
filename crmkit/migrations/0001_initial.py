"""Kernel: plugin settings."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, Model


def up(migrator, db):
    class PluginSetting(Model):
        name = CharField(max_length=100, primary_key=True)
        enabled = BooleanField()
        updated_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            database = db
            table_name = "plugin_setting"

    db.create_tables([PluginSetting])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("plugin_setting"))
