"""Running an import job: batches committed one at a time, resumable from the last one.

Each batch is one write transaction holding its customers (or interactions), its row problems and
the job's new position, so a run killed half-way leaves whole batches behind and never half a row.
The batch transaction first moves the job's heartbeat on the condition that the job is still where
this run left it: two runs of one job (a worker retry racing a ``--resume``) can never both write a
batch; the one that loses stops.

The same :func:`run_job` serves ``crmkit customers import`` (in the foreground, with a progress
bar), the worker (the ``crmkit.imports.run`` task) and tests.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import IO

import peewee
from flask import current_app
from peewee import fn

from crmkit.db import database, is_sqlite, utcnow, write_transaction
from crmkit.errors import Conflict, ValidationError
from crmkit.imports import customers, interactions, jsonlines, staging
from crmkit.imports.base import FAILED as ROW_FAILED
from crmkit.imports.base import Outcome, Prepared, failed
from crmkit.imports.bulk import import_cache, insert_rows, relax_commit
from crmkit.imports.csvfile import (FieldSet, FileProblem, check_encoding, escape_formula,
                                    layout_of, read_rows)
from crmkit.imports.models import (DONE, FAILED, FORMATS, KINDS, ON_DUPLICATE, RUNNING,
                                   ImportJob, ImportProblem)
from crmkit.imports.pipeline import batches
from crmkit.imports.settings import import_setting

log = logging.getLogger("crmkit.imports")

IMPORTERS = {"customers": customers.CustomerImporter,
             "interactions": interactions.InteractionImporter}
FIELD_SETS: dict[str, Callable[[], FieldSet]] = {"customers": customers.field_set,
                                                 "interactions": interactions.field_set}
COUNTERS = {"created": "rows_created", "updated": "rows_updated", "unchanged": "rows_unchanged",
            "skipped": "rows_skipped", ROW_FAILED: "rows_failed"}

Progress = Callable[[ImportJob, int], None]  # (job as committed, bytes of the file read)
# A running job whose last batch is older than this is presumed abandoned and may be taken over.
STALE_AFTER = dt.timedelta(minutes=5)
WAIT_POLL_SECONDS = 5.0


class Superseded(Exception):
    """Another run of the same job moved it on; this one stops without writing."""


class _DryRun(Exception):
    def __init__(self, outcomes: list[Outcome]):
        super().__init__("dry run")
        self.outcomes = outcomes


def create_job(kind: str, path: str, *, filename: str | None = None,
               mapping: dict[str, str] | None = None, on_duplicate: str = "error",
               dry_run: bool = False, encoding: str | None = None, delimiter: str | None = None,
               uploaded: bool = False, created_by: int | None = None,
               file_format: str | None = None) -> ImportJob:
    """Check the file as a whole (encoding, header, mapping) and record a pending job.

    ``file_format`` is ``csv`` or ``jsonl``; by default ``jsonl`` for a name ending in .jsonl or
    .ndjson, else ``csv``.

    Raises :class:`FileProblem` saying what is wrong with the file, or ValidationError for
    options that make no sense. Runs in the caller's transaction.
    """
    if kind not in KINDS:
        raise ValidationError({"kind": f"One of: {', '.join(KINDS)}."})
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationError({"on_duplicate": f"One of: {', '.join(ON_DUPLICATE)}."})
    mapping = dict(mapping or {})
    label = filename or os.path.basename(path)
    file_format = file_format or ("jsonl" if jsonlines.is_jsonl(label) else "csv")
    if file_format not in FORMATS:
        raise ValidationError({"format": f"One of: {', '.join(FORMATS)}."})
    if file_format == "jsonl":
        rows = jsonlines.count_rows(path, encoding, label)
        layout = jsonlines.layout_of(path, mapping, FIELD_SETS[kind](), encoding)
    else:
        rows = max(check_encoding(path, encoding, label) - 1, 0)
        layout = layout_of(path, mapping, FIELD_SETS[kind](), encoding, delimiter)
    return ImportJob.create(
        kind=kind, filename=label[:300], path=os.path.abspath(path), uploaded=uploaded,
        encoding=layout.encoding, delimiter=layout.delimiter, format=file_format,
        mapping=json.dumps(mapping), on_duplicate=on_duplicate, dry_run=dry_run,
        file_bytes=os.path.getsize(path), rows_total=rows, created_by=created_by)


def get_job(job_id: int) -> ImportJob:
    from crmkit.errors import NotFound
    job = ImportJob.get_or_none(ImportJob.id == job_id)
    if job is None:
        raise NotFound(f"Import {job_id} does not exist.")
    return job


def run_job(job_id: int, progress: Progress | None = None, batch_size: int | None = None,
            wait: bool = False) -> ImportJob:
    """Import the job's rows from where it stands; returns the job as it ended.

    A finished job is left alone. A problem with the whole file ends the job ``failed`` with
    the reason in ``error``; rows already committed stay, and fixing the file then running the
    job again continues after them. A job another run is busy with (progress within
    :data:`STALE_AFTER`) is a Conflict, or, with ``wait``, is watched until it ends or its run
    goes quiet, and then taken over.
    """
    size = batch_size or import_setting(current_app.config, "IMPORT_BATCH_SIZE")
    job = get_job(job_id)
    while job.state != DONE and not _claim(job):
        if not wait:
            quiet = (utcnow() - job.heartbeat_at).total_seconds()
            raise Conflict(f"Import {job_id} is being run elsewhere (last progress {quiet:.0f} s "
                           f"ago). If that run is gone, try again in "
                           f"{STALE_AFTER.total_seconds() / 60:.0f} minutes.")
        time.sleep(WAIT_POLL_SECONDS)
        job = get_job(job_id)
    if job.state == DONE:
        return job
    job = get_job(job_id)
    try:
        layout = _layout(job)
    except (FileProblem, OSError) as exc:
        return _finish(job, FAILED, _reason(exc))
    importer = IMPORTERS[job.kind](job.id, layout, job.on_duplicate, job.dry_run)
    try:
        with import_cache():
            job = _import_rows(job, importer, layout, size, progress)
    except Superseded:
        log.warning("import %s: another run took it over; this run stops", job_id)
        return get_job(job_id)
    except (FileProblem, OSError) as exc:
        return _finish(get_job(job_id), FAILED, _reason(exc))
    except BaseException:
        _release(job_id)
        raise
    return _finish(job, DONE)


def _layout(job: ImportJob):
    if job.format == "jsonl":
        return jsonlines.layout_of(job.path, job.mapping_dict, FIELD_SETS[job.kind](),
                                   job.encoding)
    return layout_of(job.path, job.mapping_dict, FIELD_SETS[job.kind](), job.encoding,
                     job.delimiter)


def _busy(job: ImportJob) -> bool:
    return (job.state == RUNNING and job.heartbeat_at is not None
            and utcnow() - job.heartbeat_at < STALE_AFTER)


def _claim(job: ImportJob) -> bool:
    """Mark the job running for this run, unless another run is busy with it."""
    now = utcnow()
    with write_transaction():
        return bool(ImportJob.update(
            state=RUNNING, error=None, heartbeat_at=now,
            started_at=fn.COALESCE(ImportJob.started_at, now)).where(
            (ImportJob.id == job.id) & (ImportJob.state != DONE)
            & ((ImportJob.state != RUNNING) | ImportJob.heartbeat_at.is_null()
               | (ImportJob.heartbeat_at < now - STALE_AFTER))).execute())


def _release(job_id: int) -> None:
    """A run stopped by an error or Ctrl-C lets the next run start at once."""
    try:
        with write_transaction():
            ImportJob.update(heartbeat_at=None).where(
                (ImportJob.id == job_id) & (ImportJob.state == RUNNING)).execute()
    except Exception:  # the database may be what failed; the job then goes quiet by itself
        log.warning("import %s: could not mark the run as stopped", job_id, exc_info=True)


def _import_rows(job: ImportJob, importer, layout, size: int,
                 progress: Progress | None) -> ImportJob:
    """Read, check and commit the job's remaining rows a batch at a time."""
    rows = jsonlines.read_rows if job.format == "jsonl" else read_rows
    # A large file is read and checked in a worker process while this one writes.
    in_worker = (job.rows_total or 0) - job.rows_done >= import_setting(
        current_app.config, "IMPORT_WORKER_MIN_ROWS")
    # On SQLite the worker may hand plain rows over as files (crmkit.imports.staging).
    stage = in_worker and is_sqlite() and getattr(importer, "stages", False)
    for pending, position in batches(rows(job.path, layout, skip=job.rows_done), importer, size,
                                     in_worker, stage):
        job = _commit(job, importer, pending, progress, position)
    return job


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"The file cannot be read: {exc.strerror or exc}."
    return str(exc)


def _commit(job: ImportJob, importer, batch: list, progress: Progress | None,
            position: int) -> ImportJob:
    expected = job.rows_done
    with staging.attached(batch), write_transaction():
        relax_commit()
        claimed = (ImportJob.update(heartbeat_at=utcnow())
                   .where((ImportJob.id == job.id) & (ImportJob.rows_done == expected)
                          & (ImportJob.state == RUNNING)).execute())
        if not claimed:
            raise Superseded(job.id)
        outcomes = [item for item in batch if isinstance(item, Outcome)]
        # Prepared rows, or what an importer's precheck made of them (crmkit.imports.pipeline)
        outcomes += _write(importer, [item for item in batch
                                      if item is not None and not isinstance(item, Outcome)])
        place = {name: i for i, name in enumerate(importer.layout.header)}
        insert_rows(ImportProblem, ("job_id", "row", "column", "message"), [
            (job.id, o.row, column, message)
            for o in sorted((o for o in outcomes if o.problems), key=lambda o: o.row)
            for column, message in sorted(o.problems, key=lambda p: place.get(p[0], -1))])
        counts = Counter(o.status for o in outcomes)
        changes = {getattr(ImportJob, COUNTERS[s]): getattr(ImportJob, COUNTERS[s]) + n
                   for s, n in counts.items()}
        ImportJob.update({ImportJob.rows_done: expected + staging.rows_in(batch), **changes}).where(
            ImportJob.id == job.id).execute()
    job = get_job(job.id)
    if progress is not None:
        progress(job, position)
    return job


def _write(importer, items: list[Prepared]) -> list[Outcome]:
    """The importer's outcomes for ``items``, in a savepoint (rolled back for a dry run).

    Should the batch fail as a whole (a plugin's hook refusing one customer, or another writer
    taking an email between check and insert), it is written again row by row, so only the
    row to blame is reported and the others still go in. A lost database connection is not a
    row's fault: it ends the run, to be resumed.
    """
    if not items:
        return []
    try:
        with database.atomic():
            outcomes = importer.write(items)
            if importer.dry_run:
                raise _DryRun(outcomes)
        return outcomes
    except _DryRun as done:
        return done.outcomes
    except (peewee.OperationalError, peewee.InterfaceError):
        raise
    except Exception as exc:
        expand = getattr(importer, "expand", None)
        if expand is not None:  # a staged block's rows, to be written one by one
            items = expand(items)
        if len(items) == 1:
            log.warning("import row %s refused: %s", items[0].row, exc)
            return [failed(items[0].row, [(None, f"Could not be stored: {exc}")])]
        log.info("import batch from row %s failed as a whole (%s); writing it row by row",
                 items[0].row, exc)
        outcomes = []
        for item in items:
            outcomes += _write(importer, [item])
        return outcomes


def run_as_uploader(job_id: int) -> ImportJob:
    """Run an uploaded job with its uploader's rights (a job run by the operator has none to
    keep): what the API refuses that user, the import refuses too. An uploader no longer
    active ends the job failed."""
    from crmkit.auth.models import User
    from crmkit.auth.principal import Principal, acting_as
    job = get_job(job_id)
    if job.created_by is None:
        return run_job(job_id, wait=True)
    user = User.get_or_none(User.id == job.created_by)
    if user is None or not user.active:
        return _finish(job, FAILED, f"The user who uploaded this import (id {job.created_by}) "
                                    "is no longer active.")
    with acting_as(Principal.for_user(user)):
        return run_job(job_id, wait=True)


def _finish(job: ImportJob, state: str, error: str | None = None) -> ImportJob:
    with write_transaction():
        changes = {ImportJob.state: state, ImportJob.error: error,
                   ImportJob.finished_at: utcnow()}
        if state == DONE:
            changes[ImportJob.rows_total] = ImportJob.rows_done
        ImportJob.update(changes).where(ImportJob.id == job.id).execute()
    job = get_job(job.id)
    if job.uploaded:  # an uploaded copy cannot be fixed and resumed: it has served
        _remove(job.path)
    return job


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# -- results ------------------------------------------------------------------------------------

def job_dict(job: ImportJob) -> dict:
    return {"id": job.id, "kind": job.kind, "format": job.format, "state": job.state,
            "filename": job.filename,
            "on_duplicate": job.on_duplicate, "dry_run": job.dry_run,
            "mapping": job.mapping_dict, "encoding": job.encoding,
            "rows_total": job.rows_total, "rows_done": job.rows_done,
            "rows_created": job.rows_created, "rows_updated": job.rows_updated,
            "rows_unchanged": job.rows_unchanged, "rows_skipped": job.rows_skipped,
            "rows_failed": job.rows_failed, "error": job.error, "created_by": job.created_by,
            "created_at": job.created_at, "started_at": job.started_at,
            "heartbeat_at": job.heartbeat_at, "finished_at": job.finished_at}


def common_problems(job_id: int, limit: int = 5) -> list[tuple[str | None, str, int]]:
    """The most frequent (column, message) pairs of a job, with how many rows had each."""
    n = fn.COUNT(ImportProblem.id)
    query = (ImportProblem.select(ImportProblem.column, ImportProblem.message, n.alias("n"))
             .where(ImportProblem.job == job_id)
             .group_by(ImportProblem.column, ImportProblem.message)
             .order_by(n.desc(), ImportProblem.column, ImportProblem.message).limit(limit))
    return [(row.column, row.message, row.n) for row in query]


REPORT_HEADER = ("row", "column", "message")


def problem_rows(job_id: int, batch: int = 5000) -> Iterable[tuple[int, str, str]]:
    """(row, column, message) of every problem of a job, in row order, read in batches."""
    last = 0
    while True:
        chunk = list(ImportProblem.select(ImportProblem.id, ImportProblem.row,
                                          ImportProblem.column, ImportProblem.message)
                     .where((ImportProblem.job == job_id) & (ImportProblem.id > last))
                     .order_by(ImportProblem.id).limit(batch).tuples())
        for _, row, column, message in chunk:
            yield row, column or "", message
        if len(chunk) < batch:
            return
        last = chunk[-1][0]


def write_report(job_id: int, out: IO[str]) -> int:
    """The job's error report as CSV (row, column, message); returns the number of lines."""
    writer = csv.writer(out)
    writer.writerow(REPORT_HEADER)
    count = 0
    for row, column, message in problem_rows(job_id):
        # The column is the file's own header, the message may quote a cell: either could run
        # as a formula in the spreadsheet the report is opened in.
        writer.writerow((row, escape_formula(column), escape_formula(message)))
        count += 1
    return count


__all__ = ["FileProblem", "Superseded", "common_problems", "create_job", "get_job", "job_dict",
           "problem_rows", "run_job", "write_report"]
