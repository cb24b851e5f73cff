"""Kernel: import jobs, the rows they could not take, and company ids they carried."""
import datetime

from peewee import (BigAutoField, BigIntegerField, BooleanField, CharField, CompositeKey,
                    DateTimeField, ForeignKeyField, IntegerField, Model, TextField)


def up(migrator, db):
    class ImportJob(Model):
        kind = CharField(max_length=20)
        state = CharField(max_length=10, default="pending")
        filename = CharField(max_length=300)
        path = CharField(max_length=1000)
        uploaded = BooleanField(default=False)
        encoding = CharField(max_length=40, default="utf-8")
        delimiter = CharField(max_length=1, default=",")
        mapping = TextField(default="{}")
        on_duplicate = CharField(max_length=10, default="error")
        dry_run = BooleanField(default=False)
        file_bytes = BigIntegerField(default=0)
        rows_total = IntegerField(null=True)
        rows_done = IntegerField(default=0)
        rows_created = IntegerField(default=0)
        rows_updated = IntegerField(default=0)
        rows_unchanged = IntegerField(default=0)
        rows_skipped = IntegerField(default=0)
        rows_failed = IntegerField(default=0)
        error = TextField(null=True)
        created_by = IntegerField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        started_at = DateTimeField(null=True)
        heartbeat_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "import_job"

    class ImportProblem(Model):
        id = BigAutoField()
        job = ForeignKeyField(ImportJob, on_delete="CASCADE")
        row = IntegerField()
        column = CharField(max_length=300, null=True)
        message = TextField()

        class Meta:
            database = db
            table_name = "import_problem"
            indexes = ((("job", "row"), False),)

    class ImportRef(Model):
        job = ForeignKeyField(ImportJob, on_delete="CASCADE")
        source_id = BigIntegerField()
        customer_id = IntegerField()

        class Meta:
            database = db
            table_name = "import_ref"
            primary_key = CompositeKey("job", "source_id")

    db.create_tables([ImportJob, ImportProblem, ImportRef])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("import_ref"), migrator.drop_table("import_problem"),
                     migrator.drop_table("import_job"))
