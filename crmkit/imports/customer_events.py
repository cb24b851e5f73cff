"""The ``customer.created`` events of a bulk import, built by the database from the rows stored.

Each event is the one :func:`crmkit.customers.service.create_customer` emits: its payload is
``{"customer": customer_summary(customer), "source": ...}`` as canonical JSON (sorted keys, no
spaces, non-ASCII as is), its id a version 7 UUID. One ``INSERT ... SELECT`` per batch writes
them from the ``customer`` rows just inserted, so no payload is encoded and no row sent per
customer: encoding a million payloads in Python cost more than inserting them.
"""
from __future__ import annotations

import os
import time

import peewee

from crmkit.customers.models import Customer
from crmkit.customers.service import ENTITY, SUMMARY_FIELDS
from crmkit.db import database, is_sqlite, utcnow
from crmkit.events.models import Event
from crmkit.events.outbox import take_turn
from crmkit.imports.bulk import stored_time

EVENT_TYPE = "customer.created"
_COLUMNS = '"uuid", "type", "schema_version", "occurred_at", "subject", "subject_id", "payload"'


def _is_number(name: str) -> bool:
    return isinstance(getattr(Customer, name), (peewee.IntegerField, peewee.AutoField))


def _payload_sql(sqlite: bool) -> str:
    """The payload of the customer in row ``c``, as the JSON text ``dumps`` would make of it."""
    fields = sorted(SUMMARY_FIELDS)
    if sqlite:
        # json_object writes compact JSON, keys in the order given, strings escaped as Python's
        # json does with ensure_ascii=False (tests compare the two).
        inner = ", ".join(f"'{name}', c.\"{name}\"" for name in fields)
        return f"json_object('customer', json_object({inner}), 'source', ?)"
    parts = []
    for name in fields:
        value = f'c."{name}"::text' if _is_number(name) else f'to_json(c."{name}")::text'
        parts.append(f"'\"{name}\":' || COALESCE({value}, 'null')")
    inner = " || ',' || ".join(parts)
    return f"""'{{"customer":{{' || {inner} || '}},"source":' || to_json(%s::text)::text || '}}'"""


def _uuid_sql(sqlite: bool) -> str:
    """A version 7 UUID per row: a prefix made for the batch (milliseconds, version, 12 random
    bits, the variant and 2 more), then 60 bits counting up from a random start with the id.

    Counting up within the batch is RFC 9562's monotonic method (section 6.2): the database makes
    no random bits per row, and the customer id keeps a batch's UUIDs distinct.
    """
    if sqlite:  # stored as 32 hex digits, as peewee's UUIDField stores it on SQLite
        return "printf('%s%015x', ?, ? + c.id)"
    return "(%s || lpad(to_hex(%s::bigint + c.id), 15, '0'))::uuid"


def _uuid_start(ids: list[int]) -> tuple[str, int]:
    """(prefix, start) of a batch's UUIDs; start plus any id stays below 2**60."""
    millis = time.time_ns() // 1_000_000
    bits = int.from_bytes(os.urandom(10), "big")
    rand_a, variant = bits & 0xFFF, 0x8 | (bits >> 12) & 0x3
    start = (bits >> 14) & ((1 << 59) - 1)
    if max(ids) >= 1 << 59:
        raise ValueError("customer ids beyond 2**59 leave no room for the UUID counter")
    return f"{millis & 0xFFFF_FFFF_FFFF:012x}7{rand_a:03x}{variant:x}", start


_SQL: dict[bool, str] = {}


def _insert_sql(sqlite: bool) -> str:
    if sqlite not in _SQL:
        param = "?" if sqlite else "%s"
        id_text = "CAST(c.id AS TEXT)" if sqlite else "c.id::text"
        where = "c.id BETWEEN ? AND ?" if sqlite else "c.id = ANY(%s)"
        _SQL[sqlite] = (
            f'INSERT INTO "{Event._meta.table_name}" ({_COLUMNS}) '
            f"SELECT {_uuid_sql(sqlite)}, '{EVENT_TYPE}', 1, {param}, '{ENTITY}', {id_text}, "
            f'{_payload_sql(sqlite)} FROM "{Customer._meta.table_name}" c WHERE {where} '
            "ORDER BY c.id")
    return _SQL[sqlite]


def emit_created(ids: list[int], source: str = "import") -> None:
    """Record ``customer.created`` for each of ``ids`` (customers just inserted in the caller's
    transaction), in id order, as ``emit`` would one by one.

    On SQLite ``ids`` must be consecutive (``crmkit.imports.bulk.allocate_ids`` hands them out
    so): the rows are found by range, which costs no parameter per id.
    """
    if not ids:
        return
    prefix, start = _uuid_start(ids)
    occurred_at = stored_time(Event.occurred_at, utcnow())
    sqlite = is_sqlite()
    if sqlite:
        if ids[-1] - ids[0] != len(ids) - 1:
            raise ValueError("emit_created needs consecutive ids on SQLite")
        params = (prefix, start, occurred_at, source, ids[0], ids[-1])
    else:
        take_turn()  # event ids are handed out in commit order (crmkit.events.feed)
        params = (prefix, start, occurred_at, source, list(ids))
    database.execute_sql(_insert_sql(sqlite), params)


__all__ = ["emit_created"]
