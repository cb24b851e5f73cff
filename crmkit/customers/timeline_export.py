"""Exporting the timeline (interactions) as CSV or JSON Lines, with the timeline's filters.

A stream, like the customer export (:mod:`crmkit.customers.export`): interactions are read a batch
at a time by id in one read transaction (a snapshot) and never held in memory all at once. Only
interactions of customers the caller may see are written.

Each record is the interaction as the API shows it, plus ``customer_email`` and
``customer_phone`` (the customer's primary ones): an export imports back with ``crmkit
interactions import``, and into another installation, where customer ids differ, by ignoring
``customer_id`` (``--map customer_id=``) so that rows find their customer by email or phone.
Amounts are exact decimals (a string in JSON); payload and line items are JSON (a JSON cell in CSV).
As in the customer export, a CSV text cell a spreadsheet would run as a formula gets a leading
``'`` (a summary ``=1+1``, a phone ``+44...``), which the import takes off; an amount or a date
is not text and is written as it is.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from crmkit.auth.scoping import visible
from crmkit.customers.export import FORMATS, _json_default, _text, stream_in_snapshot
from crmkit.customers.models import Customer, Interaction
from crmkit.customers.timeline import interaction_dict, interaction_filters
from crmkit.errors import ValidationError

BATCH = 1000
COLUMNS = ("id", "customer_id", "customer_email", "customer_phone", "type", "channel",
           "direction", "occurred_at", "actor", "summary", "payload", "amount", "currency",
           "lines", "source", "external_id", "created_at")
JSON_COLUMNS = ("payload", "lines")


def _conditions(params: Mapping[str, object]) -> list:
    conditions = interaction_filters(params)
    if params.get("customer_id") is not None:
        conditions.append(Interaction.customer == params["customer_id"])
    return conditions


def export_interactions(params: Mapping[str, object], fmt: str = "csv") -> Iterator[str]:
    """The export as text chunks. Bad filters raise here, before the first chunk, so the API
    can still answer 4xx: a ``customer_id`` the caller cannot see is a 404, as for its
    timeline."""
    if fmt not in FORMATS:
        raise ValidationError({"format": f"One of: {', '.join(FORMATS)}."}, location="query")
    _conditions(params)
    if params.get("customer_id") is not None:
        from crmkit.customers.service import get_customer
        get_customer(int(params["customer_id"]))
    return _stream(dict(params), fmt)


def _batches(params: dict) -> Iterator[list[Interaction]]:
    conditions = _conditions(params)
    last = 0
    while True:
        # The customer's id too: the joined customer replaces the row's customer_id.
        query = (Interaction.select(Interaction, Customer.id, Customer.email, Customer.phone)
                 .join(Customer)
                 .where(Interaction.id > last, *conditions))
        rows = list(visible(query, Customer).order_by(Interaction.id).limit(BATCH))
        if rows:
            yield rows
            last = rows[-1].id
        if len(rows) < BATCH:
            return


def _record(row: Interaction) -> dict:
    record = interaction_dict(row)
    record["customer_email"] = row.customer.email
    record["customer_phone"] = row.customer.phone
    return record


def _cell(name: str, value) -> str:
    if name in JSON_COLUMNS:
        return "" if value is None else json.dumps(value, default=_json_default,
                                                   ensure_ascii=False)
    return _text(value)


def _stream(params: dict, fmt: str) -> Iterator[str]:
    return stream_in_snapshot(
        lambda: ([_record(row) for row in rows] for rows in _batches(params)), fmt,
        lambda: COLUMNS, lambda columns, record: [_cell(c, record[c]) for c in columns],
        lambda record: {c: record[c] for c in COLUMNS})


__all__ = ["COLUMNS", "export_interactions"]
