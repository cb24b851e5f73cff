"""HTTP door to imports: upload a file, then poll the job that imports it.

``POST /api/v1/imports`` (multipart) stores the file (CSV or JSON Lines), checks it as a whole
(type, size, encoding, header, mapping: 415/413/422 at once) and queues the
``crmkit.imports.run`` task; the worker imports it batch by batch. ``GET /api/v1/imports/{id}``
tells how far it got, and ``GET /api/v1/imports/{id}/errors`` lists the rows it could not take
as CSV.
"""
from __future__ import annotations

import json
import os
import uuid

import marshmallow as ma
from flask import Response, current_app, g, request, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit.auth.declare import protect
from crmkit.db import connection
from crmkit.errors import Forbidden, ValidationError
from crmkit.imports import jsonlines, runner
from crmkit.imports.csvfile import FileProblem, parse_mapping
from crmkit.imports.models import FORMATS, KINDS, ON_DUPLICATE, ImportJob
from crmkit.imports.settings import import_setting, imports_dir
from crmkit.imports.tasks import RUN_IMPORT
from crmkit.limits import PayloadTooLarge, UnsupportedMediaType
from crmkit.pagination import clamp_limit

blp = protect(Blueprint("imports", __name__, url_prefix="/imports",
                        description="Bulk import of customers and interactions from CSV or "
                                    "JSON Lines files"),
              read="customers:import", write="customers:import")

EXTENSIONS = (".csv", ".txt", ".tsv", *jsonlines.EXTENSIONS)
MEDIA_TYPES = ("text/csv", "text/plain", "text/tab-separated-values", "application/csv",
               "application/vnd.ms-excel", "application/octet-stream", "",
               "application/x-ndjson", "application/jsonl", "application/x-jsonlines",
               "application/json")


class ImportForm(ma.Schema):
    """The form fields sent with the file (multipart/form-data)."""

    kind = f.String(load_default="customers", validate=v.OneOf(KINDS))
    format = f.String(load_default=None, allow_none=True, validate=v.OneOf(FORMATS), metadata={
        "description": "csv or jsonl (JSON Lines); default jsonl for a .jsonl or .ndjson file"})
    on_duplicate = f.String(load_default="error", validate=v.OneOf(ON_DUPLICATE),
                            metadata={"description": "For customers matched on email or phone"})
    dry_run = f.Boolean(load_default=False)
    encoding = f.String(load_default=None, allow_none=True, validate=v.Length(max=40))
    delimiter = f.String(load_default=None, allow_none=True,
                         validate=v.OneOf([",", ";", "\t", "|"]))
    mapping = f.String(load_default=None, allow_none=True, metadata={
        "description": 'JSON object {"csv column": "field"}; "" ignores a column'})
    map = f.List(f.String(), load_default=list,
                 metadata={"description": "COLUMN=FIELD, repeatable (like the CLI's --map)"})


class ImportJobOut(ma.Schema):
    id = f.Integer()
    kind = f.String()
    format = f.String(metadata={"description": "csv or jsonl"})
    state = f.String(metadata={"description": "pending, running, done or failed"})
    filename = f.String()
    on_duplicate = f.String()
    dry_run = f.Boolean()
    mapping = f.Dict()
    encoding = f.String()
    rows_total = f.Integer(allow_none=True, metadata={
        "description": "Lines in the file less the header; exact once done"})
    rows_done = f.Integer()
    rows_created = f.Integer()
    rows_updated = f.Integer()
    rows_unchanged = f.Integer()
    rows_skipped = f.Integer()
    rows_failed = f.Integer()
    error = f.String(allow_none=True, metadata={"description": "Why the file was refused"})
    created_by = f.Integer(allow_none=True)
    created_at = f.AwareDateTime()
    started_at = f.AwareDateTime(allow_none=True)
    heartbeat_at = f.AwareDateTime(allow_none=True)
    finished_at = f.AwareDateTime(allow_none=True)
    errors_url = f.String()
    common_problems = f.List(f.Dict())


class ImportPage(ma.Schema):
    items = f.List(f.Nested(ImportJobOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


class ImportListArgs(ma.Schema):
    cursor = f.Integer(metadata={"description": "Jobs older than this id"})
    limit = f.Integer()


def _out(job: ImportJob, details: bool = False) -> dict:
    data = runner.job_dict(job)
    data["errors_url"] = url_for("imports.ImportErrors", import_id=job.id)
    if details:
        data["common_problems"] = [{"column": c, "message": m, "rows": n}
                                   for c, m, n in runner.common_problems(job.id)]
    return data


def _form() -> dict:
    raw = {k: request.form.get(k) for k in ImportForm().fields if k != "map"
           and request.form.get(k) not in (None, "")}
    raw["map"] = request.form.getlist("map")
    try:
        return ImportForm().load(raw)
    except ma.ValidationError as exc:
        raise ValidationError(exc.messages, location="form") from None


def _mapping(form: dict) -> dict[str, str]:
    mapping: dict[str, str] = {}
    if form.get("mapping"):
        try:
            given = json.loads(form["mapping"])
        except ValueError:
            given = None
        if not isinstance(given, dict) or not all(
                isinstance(k, str) and isinstance(val, (str, type(None)))
                for k, val in given.items()):
            raise ValidationError({"mapping": 'A JSON object {"csv column": "field"}.'},
                                  location="form")
        mapping.update({k: val or "" for k, val in given.items()})
    mapping.update(parse_mapping(form["map"]))
    return mapping


def _save_upload() -> tuple[str, str]:
    """Store the uploaded file in the imports directory; (path, name as uploaded)."""
    limit = import_setting(current_app.config, "MAX_IMPORT_BYTES")
    # Only this endpoint takes bodies this large; the form is parsed after this line.
    request.max_content_length = limit + 64 * 1024
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError({"file": "Send the CSV or JSON Lines file as the form field "
                                       "'file'."}, location="files")
    name = os.path.basename(upload.filename)
    if (not name.lower().endswith(EXTENSIONS)
            or (upload.mimetype or "").lower() not in MEDIA_TYPES):
        raise UnsupportedMediaType(f"Send a CSV file (.csv, .txt or .tsv as text/csv) or a "
                                   f"JSON Lines file (.jsonl or .ndjson); got {name!r} as "
                                   f"{upload.mimetype or 'no type'!r}.")
    directory = imports_dir(current_app.config)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{uuid.uuid4().hex}{os.path.splitext(name)[1].lower()}")
    upload.save(path)
    if os.path.getsize(path) > limit:
        os.remove(path)
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
    return path, name


@blp.route("")
class Imports(MethodView):
    @blp.arguments(ImportListArgs, location="query")
    @blp.response(200, ImportPage)
    def get(self, args):
        """Import jobs, newest first; pages follow ``next_cursor``."""
        limit = clamp_limit(args.get("limit"), int(current_app.config["CRMKIT_MAX_PAGE_SIZE"]))
        query = ImportJob.select().order_by(ImportJob.id.desc()).limit(limit + 1)
        if args.get("cursor"):
            query = query.where(ImportJob.id < args["cursor"])
        jobs = list(query)
        more = len(jobs) > limit
        jobs = jobs[:limit]
        return {"items": [_out(j) for j in jobs], "limit": limit,
                "next_cursor": str(jobs[-1].id) if more else None}

    @blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"},
                       "kind": {"type": "string", "enum": list(KINDS)},
                       "format": {"type": "string", "enum": list(FORMATS)},
                       "on_duplicate": {"type": "string", "enum": list(ON_DUPLICATE)},
                       "dry_run": {"type": "boolean"}, "encoding": {"type": "string"},
                       "delimiter": {"type": "string"},
                       "mapping": {"type": "string", "description": ImportForm().fields[
                           "mapping"].metadata["description"]},
                       "map": {"type": "array", "items": {"type": "string"}}}}}}})
    @blp.response(202, ImportJobOut)
    def post(self):
        """Upload a CSV or JSON Lines file and queue its import; poll the answer's job for
        progress.

        The file is checked as a whole first: 413 when too large (CRMKIT_MAX_IMPORT_BYTES),
        415 when not CSV or JSON Lines text, 422 for a wrong encoding, a missing header or a
        column that is neither a field nor mapped (for JSON Lines: no line is a JSON object).
        Rows are checked by the job; see ``errors_url``.
        """
        principal = g.get("crmkit_principal")
        if principal is not None and principal.scope != "all":
            # Rows are matched against every customer (by email and phone), and matched ones
            # updated: a role limited to its own or its teams' customers could reach others.
            raise Forbidden("Importing needs a role that sees every customer (scope all): an "
                            "import matches its rows against all customers.")
        path, name = _save_upload()
        try:
            form = _form()
            job = runner.create_job(
                form["kind"], path, filename=name, mapping=_mapping(form),
                on_duplicate=form["on_duplicate"], dry_run=form["dry_run"],
                encoding=form["encoding"], delimiter=form["delimiter"], uploaded=True,
                file_format=form["format"],
                created_by=principal.user_id if principal is not None else None)
            RUN_IMPORT.defer(import_id=job.id)
        except FileProblem as exc:
            os.remove(path)
            fields: dict[str, list[str]] = {}
            for what, message in exc.problems:
                fields.setdefault(what, []).append(message)
            raise ValidationError(fields, "The file cannot be imported.", location="form") \
                from None
        except BaseException:
            os.remove(path)
            raise
        return _out(job, details=True), 202, {"Location": url_for("imports.ImportItem",
                                                                  import_id=job.id)}


@blp.route("/<int:import_id>")
class ImportItem(MethodView):
    @blp.response(200, ImportJobOut)
    def get(self, import_id):
        """How far an import got: state, rows done, created, updated, failed, and the most
        common problems."""
        return _out(runner.get_job(import_id), details=True)


@blp.route("/<int:import_id>/errors")
class ImportErrors(MethodView):
    @blp.doc(responses={"200": {"description": "CSV: row, column, message",
                                "content": {"text/csv": {}}}})
    def get(self, import_id):
        """The rows an import could not take, as CSV (row, column, message)."""
        job = runner.get_job(import_id)

        def lines():
            import csv
            import io
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(runner.REPORT_HEADER)
            with connection():
                for count, record in enumerate(runner.problem_rows(job.id), start=1):
                    writer.writerow(record)
                    if count % 1000 == 0:
                        yield buffer.getvalue()
                        buffer.seek(0)
                        buffer.truncate()
            yield buffer.getvalue()

        return Response(stream_with_context(lines()), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'})
