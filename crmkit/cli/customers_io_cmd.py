"""``crmkit customers import|export`` and ``crmkit interactions import|export``.

Imports run in the foreground with a progress bar, as a job committed batch by batch: rows with
problems are reported (on screen in brief, in full in a CSV report) while the good rows go in,
and an import that stopped half-way continues with ``--resume JOB_ID``.
"""
from __future__ import annotations

import os
import sys

import click

from crmkit import db
from crmkit.cli.context import with_app
from crmkit.cli.customers_cmd import LIST_FILTERS, customers
from crmkit.cli.output import domain_command, key_values, load_options
from crmkit.customers.export import FORMATS, export_customers
from crmkit.errors import CrmkitError
from crmkit.imports.csvfile import FileProblem, parse_mapping
from crmkit.imports.models import DONE, FAILED, ON_DUPLICATE, ImportJob
from crmkit.imports.pipeline import ReaderFailed
from crmkit.imports.models import FORMATS as IMPORT_FORMATS
from crmkit.imports.runner import common_problems, create_job, get_job, run_job, write_report


@click.group("interactions")
def interactions():
    """Interactions (timeline entries) in bulk."""


# -- import ----------------------------------------------------------------------------------------

def _import_options(func):
    options = [
        click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False)),
        click.option("--map", "mappings", multiple=True, metavar="COLUMN=FIELD",
                     help="Read COLUMN into FIELD (custom.<name> for custom fields); COLUMN= "
                          "ignores the column. Repeatable. Columns named like a field need "
                          "no mapping."),
        click.option("--format", "file_format", type=click.Choice(IMPORT_FORMATS),
                     default=None, help="csv, or jsonl (JSON Lines: one object per line). "
                                        "Default: jsonl for .jsonl and .ndjson files, else csv."),
        click.option("--dry-run", is_flag=True,
                     help="Check every row and report what would happen; store nothing."),
        click.option("--encoding", default=None,
                     help="The file's encoding (default UTF-8), e.g. cp1252 or latin-1."),
        click.option("--delimiter", default=None, type=click.Choice([",", ";", "\t", "|"]),
                     help="Column delimiter (default: guessed from the header line)."),
        click.option("--report", type=click.Path(dir_okay=False), default=None,
                     help="Where to write the error report (default: FILE.errors.csv)."),
        click.option("--resume", type=int, default=None, metavar="JOB_ID",
                     help="Continue an import that stopped, after its last committed row."),
        click.option("--batch-size", type=click.IntRange(1, 100_000), default=None,
                     help="Rows per transaction (default CRMKIT_IMPORT_BATCH_SIZE, 2000)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def _start(kind: str, file: str | None, resume: int | None, options: dict) -> ImportJob:
    if resume is not None:
        job = get_job(resume)
        if job.kind != kind:
            raise _fail(f"import {resume} imports {job.kind}, not {kind}.")
        if file and os.path.abspath(file) != job.path:
            raise _fail(f"import {resume} reads {job.path}, not {file}.")
        given = [name for name in ("mappings", "encoding", "delimiter", "file_format",
                                   "on_duplicate") if options.get(name)]
        if given or options.get("dry_run"):
            raise _fail("a resumed import keeps the options it started with; leave out --map, "
                        "--format, --encoding, --delimiter, --on-duplicate and --dry-run.")
        if job.state == DONE:
            raise _fail(f"import {resume} is already done.")
        return job
    if not file:
        raise _fail("name the FILE to import (or --resume JOB_ID).")
    try:
        with db.write_transaction():
            return create_job(kind, file, mapping=parse_mapping(options["mappings"]),
                              on_duplicate=options.get("on_duplicate") or "error",
                              dry_run=options["dry_run"], encoding=options["encoding"],
                              delimiter=options["delimiter"],
                              file_format=options["file_format"])
    except FileProblem as exc:
        problems = [message for _, message in exc.problems]
        raise _fail(f"{os.path.basename(file)} cannot be imported:\n  " + "\n  ".join(problems)) \
            from None


def _run(job: ImportJob, batch_size: int | None) -> ImportJob:
    label = f"{'Checking' if job.dry_run else 'Importing'} {job.filename}"
    total = max(job.rows_total or 0, job.rows_done, 1)
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                           show_percent=True) as bar:
        bar.update(job.rows_done)
        done = [job.rows_done]

        def progress(current: ImportJob, _position: int) -> None:
            bar.update(min(current.rows_done, total) - min(done[0], total))
            done[0] = current.rows_done

        try:
            return run_job(job.id, progress=progress, batch_size=batch_size)
        except KeyboardInterrupt:
            current = get_job(job.id)
            click.echo(f"\nInterrupted after {current.rows_done:,} rows; continue with --resume "
                       f"{job.id}", err=True)
            raise SystemExit(130) from None
        except ReaderFailed as exc:  # killed (out of memory, say): no traceback, the way on
            current = get_job(job.id)
            raise _fail(f"{exc}.\n{current.rows_done:,} rows were committed; continue with "
                        f"--resume {job.id}.") from None


def _report_path(job: ImportJob, report: str | None) -> str:
    if report:
        return report
    base, _ = os.path.splitext(job.path if not job.uploaded else job.filename)
    return f"{base}.errors.csv"


def _summary(job: ImportJob, report: str | None) -> None:
    total = job.rows_done
    share = f" ({job.rows_failed / total:.1%})" if total and job.rows_failed else ""
    verb = "Dry run, nothing stored; would have" if job.dry_run else "Done:"
    click.echo(f"{verb} {job.rows_created:,} created, {job.rows_updated:,} updated, "
               f"{job.rows_unchanged:,} unchanged, {job.rows_skipped:,} skipped, "
               f"{job.rows_failed:,} failed{share} of {total:,} rows (import {job.id}).")
    if job.rows_failed:
        click.echo("Most common problems:")
        for column, message, count in common_problems(job.id):
            where = f"{column}: " if column else ""
            click.echo(f"  {count:>8,} rows  {where}{message}")
        path = _report_path(job, report)
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                write_report(job.id, out)
            click.echo(f"Error report (row, column, message): {path}")
        except OSError as exc:
            click.echo(f"The error report could not be written to {path}: {exc.strerror}; "
                       f"it is also at GET /api/v1/imports/{job.id}/errors", err=True)


def _import(kind: str, file, resume, report, batch_size, **options) -> None:
    try:
        job = _start(kind, file, resume, options)
        job = _run(job, batch_size)
    except CrmkitError as exc:
        raise _fail(exc.message) from None
    if job.state == FAILED:
        hint = (f"\n{job.rows_done:,} rows were committed before; fix the file and continue "
                f"with --resume {job.id}.") if job.rows_done else ""
        if job.rows_done:
            _summary(job, report)
        raise _fail(f"{job.error}{hint}")
    _summary(job, report)
    if job.rows_done == 0:
        raise _fail(f"{job.filename} has a header but no rows.")
    if job.rows_failed and not (job.rows_imported or job.rows_skipped):
        raise _fail("Nothing could be imported: every row has a problem (see the report).")


@customers.command("import")
@_import_options
@click.option("--on-duplicate", type=click.Choice(ON_DUPLICATE), default=None,
              help="A row whose email or phone belongs to a customer: update that customer "
                   "(filled cells only), skip the row, or report it as an error (the "
                   "default). A resumed import keeps the choice it started with.")
@with_app
def import_customers(file, resume, report, batch_size, **options):
    """Import customers from a CSV file whose header names the columns, or a JSON Lines file.

    Columns named like the API's fields are read as such (first_name, email, other_emails,
    phone, tags, custom.<name> ...; lists are |-separated); --map says what other columns
    hold. JSON Lines: one object per line with the same keys, lists as arrays (an export in
    JSON Lines imports back). Exit status 1 when the file is refused or no row could be
    imported.
    """
    _import("customers", file, resume, report, batch_size, **options)


@interactions.command("import")
@_import_options
@with_app
def import_interactions(file, resume, report, batch_size, **options):
    """Import interactions from a CSV or JSON Lines file, matched to customers by
    customer_id, customer_email or customer_phone.

    Recorded with source "import": a row whose external_id was imported before is skipped, so
    importing a file twice records each interaction once.
    """
    _import("interactions", file, resume, report, batch_size, **options)


# -- export ----------------------------------------------------------------------------------------

EXPORT_FILTERS = [(name, text) for name, text in LIST_FILTERS
                  if name not in ("sort", "limit", "cursor")]


def _export_filter_options(func):
    for name, help_text in reversed(EXPORT_FILTERS):
        func = click.option(f"--{name.replace('_', '-')}", name, default=None,
                            help=help_text)(func)
    return func


@customers.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="csv (lists joined with |) or jsonl (one JSON object per line).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: standard output).")
@_export_filter_options
@click.option("--custom", "custom", multiple=True, metavar="NAME[__OP]=VALUE",
              help="Custom field filter (ops: gte, lte, contains); repeat for more.")
@domain_command()
def export(fmt, output, custom, **filters):
    """Export the customers the list's filters select, with custom fields and tags.

    Companies come first, then people, so importing the file elsewhere links people to their
    companies (through the id column).
    """
    from crmkit.customers.export_api import ExportArgs
    raw = {k: v for k, v in filters.items() if v is not None}
    raw.update({f"custom.{k}": v for k, v in key_values(custom, "--custom").items()})
    args = load_options(ExportArgs(), raw)
    args.pop("format", None)
    chunks = export_customers(args, fmt)
    with click.open_file(output, "w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(chunk)


# (API name, help) of the timeline export's filters; the API's schema checks the values.
INTERACTION_FILTERS = (
    ("type", "A type or a comma list (call, email, purchase ...)."),
    ("channel", "A channel or a comma list."),
    ("direction", "inbound, outbound or internal (a comma list for several)."),
    ("source", "Who recorded it (api, import, a plugin); a comma list for several."),
    ("customer_id", "Only this customer's timeline."),
    ("occurred_after", "Occurred at or after (ISO 8601)."),
    ("occurred_before", "Occurred before (ISO 8601)."),
)


def _interaction_filter_options(func):
    for name, help_text in reversed(INTERACTION_FILTERS):
        func = click.option(f"--{name.replace('_', '-')}", name, default=None,
                            help=help_text)(func)
    return func


@interactions.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="csv (payload and line items as JSON cells) or jsonl (one JSON object per "
                   "line).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: standard output).")
@_interaction_filter_options
@domain_command()
def export_interactions_cmd(fmt, output, **filters):
    """Export interactions (every customer's timeline, or one's) with the timeline's filters.

    Amounts are exact decimals. The file imports back with `crmkit interactions import`; into
    another installation add --map customer_id= so rows find their customer by email or phone.
    """
    from crmkit.customers.export_api import InteractionExportArgs
    from crmkit.customers.timeline_export import export_interactions
    raw = {k: v for k, v in filters.items() if v is not None}
    args = load_options(InteractionExportArgs(), raw)
    args.pop("format", None)
    chunks = export_interactions(args, fmt)
    with click.open_file(output, "w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(chunk)


COMMANDS = [interactions]
