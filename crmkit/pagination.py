"""Keyset pagination: page 20,000 costs what page 1 costs.

A cursor is an opaque token holding the last row's sort value and id; the next page is
``WHERE (sort, id) > (value, id)`` on an index, never an OFFSET. Plugins use it for their lists.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from dataclasses import dataclass

import peewee

from crmkit.errors import ValidationError


@dataclass
class Page:
    items: list
    next_cursor: str | None
    limit: int


def _encode(value) -> list:
    if isinstance(value, dt.datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, dt.date):
        return ["d", value.isoformat()]
    if isinstance(value, decimal.Decimal):
        return ["dec", str(value)]
    return ["v", value]


def _decode(pair):
    tag, value = pair
    if tag == "dt":
        return dt.datetime.fromisoformat(value)
    if tag == "d":
        return dt.date.fromisoformat(value)
    if tag == "dec":
        return decimal.Decimal(value)
    return value


def make_cursor(sort_value, row_id) -> str:
    raw = json.dumps([_encode(sort_value), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(row_id, int):
            raise ValueError
        return _decode(value), row_id
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationError({"cursor": "Not a cursor returned by this list."},
                              location="query") from None


def parse_sort(sort: str | None, allowed: dict[str, object], default: str) -> tuple[str, bool]:
    """``"-created_at"`` -> ("created_at", descending=True); unknown fields are a 422."""
    sort = sort or default
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in allowed:
        raise ValidationError({"sort": f"Cannot sort by {name!r}; one of: "
                                       f"{', '.join(sorted(allowed))} (prefix - for descending)."},
                              location="query")
    return name, descending


def keyset_page(query: peewee.ModelSelect, sort_expr, id_field, descending: bool,
                cursor: str | None, limit: int, value_of) -> Page:
    """One page of ``query`` ordered by (sort_expr, id).

    ``sort_expr`` must never be NULL (use COALESCE); ``value_of(row)`` reads a row's sort value
    for the next cursor.
    """
    if cursor:
        value, row_id = read_cursor(cursor)
        if isinstance(sort_expr, peewee.Field):
            # Row values are not converted by peewee; an aware datetime must be stored-form.
            value = sort_expr.db_value(value)
        key = peewee.Tuple(sort_expr, id_field)
        query = query.where(key < peewee.Tuple(value, row_id) if descending
                            else key > peewee.Tuple(value, row_id))
    order = (sort_expr.desc(), id_field.desc()) if descending else (sort_expr, id_field)
    rows = list(query.order_by(*order).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = make_cursor(value_of(rows[-1]), rows[-1].id) if more and rows else None
    return Page(rows, next_cursor, limit)


def clamp_limit(limit: int | None, maximum: int, default: int = 50) -> int:
    if limit is None:
        return min(default, maximum)
    if limit < 1 or limit > maximum:
        raise ValidationError({"limit": f"Must be between 1 and {maximum}."}, location="query")
    return limit
