"""Import jobs: a file being imported batch by batch, and the rows it could not take.

A job commits its rows in batches; each batch's customers, its row errors and the job's progress
(``rows_done``) are written in one transaction. A run that dies leaves the job at its last
committed batch, and the next run (``--resume``, or the worker retrying) starts right after it.
"""
from __future__ import annotations

import json

import peewee

from crmkit.db import BaseModel, UTCDateTimeField, utcnow

KINDS = ("customers", "interactions")
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
STATES = (PENDING, RUNNING, DONE, FAILED)
ON_DUPLICATE = ("update", "skip", "error")
FORMATS = ("csv", "jsonl")  # jsonl: JSON Lines, one object per line


class ImportJob(BaseModel):
    kind = peewee.CharField(max_length=20)
    state = peewee.CharField(max_length=10, default=PENDING)
    filename = peewee.CharField(max_length=300)  # as the user named it, for display
    path = peewee.CharField(max_length=1000)  # where the file is read from
    uploaded = peewee.BooleanField(default=False)  # a copy we own: deleted once imported
    encoding = peewee.CharField(max_length=40, default="utf-8")
    delimiter = peewee.CharField(max_length=1, default=",")
    format = peewee.CharField(max_length=10, default="csv")  # csv or jsonl (FORMATS)
    mapping = peewee.TextField(default="{}")  # JSON {csv column: field, "" to ignore}
    on_duplicate = peewee.CharField(max_length=10, default="error")
    dry_run = peewee.BooleanField(default=False)
    file_bytes = peewee.BigIntegerField(default=0)
    rows_total = peewee.IntegerField(null=True)  # known once the file has been checked
    # Data rows handled and committed (the header is not counted): a resumed run skips these.
    rows_done = peewee.IntegerField(default=0)
    rows_created = peewee.IntegerField(default=0)
    rows_updated = peewee.IntegerField(default=0)
    rows_unchanged = peewee.IntegerField(default=0)
    rows_skipped = peewee.IntegerField(default=0)
    rows_failed = peewee.IntegerField(default=0)
    error = peewee.TextField(null=True)  # why the whole file was refused
    created_by = peewee.IntegerField(null=True)  # app_user.id of the API caller
    created_at = UTCDateTimeField(default=utcnow)
    started_at = UTCDateTimeField(null=True)
    heartbeat_at = UTCDateTimeField(null=True)  # the last committed batch
    finished_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "import_job"

    @property
    def mapping_dict(self) -> dict[str, str]:
        return json.loads(self.mapping or "{}")

    @property
    def rows_imported(self) -> int:
        return self.rows_created + self.rows_updated + self.rows_unchanged


class ImportProblem(BaseModel):
    """A row the import could not take, and why: what the error report lists."""

    id = peewee.BigAutoField()
    job = peewee.ForeignKeyField(ImportJob, on_delete="CASCADE", backref="problems")
    row = peewee.IntegerField()  # as a spreadsheet numbers it: the header is row 1
    column = peewee.CharField(max_length=300, null=True)  # the CSV column, when one is to blame
    message = peewee.TextField()

    class Meta:
        table_name = "import_problem"
        indexes = ((("job", "row"), False),)


class ImportRef(BaseModel):
    """An ``id`` a file gave a company, and the customer it became here: rows of the same file
    point at companies by those ids (``company_id``), as an export writes them."""

    job = peewee.ForeignKeyField(ImportJob, on_delete="CASCADE")
    source_id = peewee.BigIntegerField()
    customer_id = peewee.IntegerField()

    class Meta:
        table_name = "import_ref"
        primary_key = peewee.CompositeKey("job", "source_id")


MODELS = [ImportJob, ImportProblem, ImportRef]
