"""Exporting customers as CSV or JSON Lines, with the list API's filters.

An export is a stream: customers are read a batch at a time in one read transaction (a snapshot,
so a customer changing meanwhile is written as it was), and never held in memory all at once.
Companies come first, then people, each in id order: importing the file elsewhere creates each
company before the people that point at it (the import links them through the ``id`` column).

The CSV holds every field the API shows; lists (other emails and phones, tags, multi-choice
values) are joined with ``|``, an item's own ``|`` and ``\\`` written ``\\|`` and ``\\\\``; custom
fields are ``custom.<name>`` columns. A text cell a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; not a phone number) is written with
a leading ``'`` (:func:`crmkit.imports.csvfile.escape_formula`); numbers, decimals and dates
never are. The importer undoes both, so importing the file into another installation recreates
the customers, and importing it back with ``--on-duplicate update`` changes nothing. JSON Lines
holds the values as they are.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from crmkit import custom_fields
from crmkit.auth.scoping import visible
from crmkit.customers.models import COMPANY, PERSON, Customer
from crmkit.customers.profile import customer_records
from crmkit.customers.search import customer_filters
from crmkit.db import connection, database, is_sqlite
from crmkit.imports.base import join_list
from crmkit.imports.csvfile import escape_formula

FORMATS = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
BATCH = 1000
COLUMNS = ("id", "kind", "name", "first_name", "last_name", "job_title", "company_id", "email",
           "other_emails", "phone", "other_phones", "street", "city", "region", "postal_code",
           "country", "status", "competitor", "source_channel", "utm_source", "utm_medium",
           "utm_campaign", "utm_term", "utm_content", "owner_id", "notes", "tags")
TIMESTAMPS = ("created_at", "updated_at")


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _text(value) -> str:
    """A value as its CSV cell. Text and lists, which are text, are escaped for spreadsheets;
    an int, Decimal or date is not: ``-5`` in a decimal column is a number, not a formula."""
    if isinstance(value, str):
        return escape_formula(value)
    if isinstance(value, (list, tuple)):
        return escape_formula(join_list(_plain(v) for v in value))
    return _plain(value)


def _json_default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact, never a float
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def export_columns() -> list[str]:
    names = sorted(custom_fields.fields_for("customer"))
    return [*COLUMNS, *(f"custom.{n}" for n in names), *TIMESTAMPS]


def _batches(params: Mapping[str, object]) -> Iterator[list[dict]]:
    conditions = customer_filters(params)
    for kind in (COMPANY, PERSON):
        last = 0
        while True:
            query = Customer.select().where(Customer.kind == kind, Customer.id > last, *conditions)
            rows = list(visible(query, Customer).order_by(Customer.id).limit(BATCH))
            if rows:
                yield customer_records(rows)
                last = rows[-1].id
            if len(rows) < BATCH:
                break


def _snapshot():
    """A read transaction that sees one state of the database from its first query on."""
    tx = database.atomic()
    tx.__enter__()
    if not is_sqlite():
        database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    return tx


def export_customers(params: Mapping[str, object], fmt: str = "csv") -> Iterator[str]:
    """The export as text chunks. Bad filters raise ValidationError here, before the first
    chunk, so the API can still answer 422."""
    if fmt not in FORMATS:
        from crmkit.errors import ValidationError
        raise ValidationError({"format": f"One of: {', '.join(FORMATS)}."}, location="query")
    customer_filters(params)  # check the filters now; the stream builds them again
    return _stream(dict(params), fmt)


def _stream(params: dict, fmt: str) -> Iterator[str]:
    def flat(columns, record):
        cells = {**record, **{f"custom.{k}": v for k, v in record["custom"].items()}}
        return [_text(cells.get(c)) for c in columns]

    return stream_in_snapshot(lambda: _batches(params), fmt, export_columns, flat,
                              lambda record: record)


def stream_in_snapshot(batches: Callable[[], Iterable[list]], fmt: str,
                       columns: Callable[[], Sequence[str]],
                       csv_row: Callable[[Sequence[str], Any], list],
                       json_record: Callable[[Any], dict]) -> Iterator[str]:
    """An export's text, a chunk per batch, all read in one snapshot: a CSV header of
    ``columns()`` and ``csv_row(columns, item)`` per item, or one ``json_record(item)`` line
    per item. ``batches`` and ``columns`` are called inside the snapshot."""
    with connection():
        tx = _snapshot()
        try:
            names = columns()
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            # The writer quotes a cell holding "\n" but not one holding a lone "\r", which a
            # reader (an import, a spreadsheet) takes for a line end: such a row is quoted whole.
            quoting = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
            if fmt == "csv":  # a chunk of its own: a client sees the columns at once
                writer.writerow(names)
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            for items in batches():
                for item in items:
                    if fmt == "csv":
                        row = csv_row(names, item)
                        (quoting if "\r" in "".join(row) else writer).writerow(row)
                    else:
                        buffer.write(json.dumps(json_record(item), default=_json_default,
                                                ensure_ascii=False))
                        buffer.write("\n")
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        finally:
            tx.__exit__(None, None, None)


__all__ = ["FORMATS", "MEDIA_TYPES", "export_columns", "export_customers", "stream_in_snapshot"]
