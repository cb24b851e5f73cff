"""Keyset pagination: page 20,000 costs what page 1 costs.

A cursor is an opaque token holding the last row's sort value and id, and the sort it belongs
to; the next page is ``WHERE (sort, id) > (value, id)`` on an index, never an OFFSET. Plugins use
it for their lists.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
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
    if tag == "v":
        return value
    raise ValueError(tag)


def make_cursor(sort_value, row_id, sort: str | None = None) -> str:
    """A cursor after the row (``sort_value``, ``row_id``). With ``sort`` the cursor names the
    sort it was made for, and ``read_cursor`` refuses it for any other sort."""
    body = [_encode(sort_value), row_id] + ([sort] if sort is not None else [])
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_NOT_A_CURSOR = "Not a cursor returned by this list."
_OTHER_SORT = ("This cursor belongs to a list sorted another way; ask for the first page again "
               "(without a cursor) after changing the sort.")
_INT64 = 2 ** 63  # what an id or a number column holds, on both engines


def _bad_cursor(message: str = _NOT_A_CURSOR) -> ValidationError:
    return ValidationError({"cursor": message}, location="query")


def read_cursor(cursor: str, sort: str | None = None):
    """(sort value, row id) of a cursor made by ``make_cursor`` with the same ``sort``.

    Anything else, a cursor of another sort or one edited by hand, is a 422 on ``cursor``.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(body, list) or len(body) not in (2, 3):
            raise ValueError
        value, row_id, *made_for = body
        if type(row_id) is not int or not -_INT64 <= row_id < _INT64:
            raise ValueError
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError
        value = _decode(value)
    # ArithmeticError: Decimal("x") raises InvalidOperation; RecursionError: deeply nested JSON.
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        raise _bad_cursor() from None
    if made_for != ([] if sort is None else [sort]):
        raise _bad_cursor(_OTHER_SORT if made_for else _NOT_A_CURSOR)
    return value, row_id


def _value_type(field: peewee.Field | None):
    """The Python type a column's values have, as cursors carry them; None if not known."""
    if isinstance(field, peewee.ForeignKeyField):
        field = field.rel_field
    for kinds, python_type in (
            (peewee.BooleanField, bool),
            ((peewee.DateTimeField, peewee.TimestampField), dt.datetime),
            (peewee.DateField, dt.date),
            (peewee.DecimalField, decimal.Decimal),
            ((peewee.FloatField, peewee.DoubleField), float),
            (peewee.IntegerField, int),  # after the ones above: TimestampField is one too
            ((peewee.CharField, peewee.TextField), str)):
        if isinstance(field, kinds):
            return python_type
    return None


def _fits(value, python_type, field) -> bool:
    """Whether a cursor's value is one the sort column could hold (so the database can compare
    it: a list, an object, a NUL in a string or a 20-digit number would fail there instead)."""
    if python_type is bool:
        return isinstance(value, bool)
    if python_type is int:
        return type(value) is int and -_INT64 <= value < _INT64
    if python_type is float:
        return type(value) in (int, float) and math.isfinite(value)
    if python_type is decimal.Decimal:
        limit = decimal.Decimal(10) ** (field.max_digits - field.decimal_places)
        return isinstance(value, decimal.Decimal) and value.is_finite() and abs(value) < limit
    if python_type is dt.datetime:
        return isinstance(value, dt.datetime)
    if python_type is dt.date:  # a datetime is a date to isinstance
        return type(value) is dt.date
    if python_type is str:
        return isinstance(value, str) and "\x00" not in value
    # A column of another kind: any single value of the kinds cursors carry, no list or object.
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value
    return isinstance(value, (int, decimal.Decimal, dt.date))


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
                cursor: str | None, limit: int, value_of, *, sort_key: str | None = None,
                value_field: peewee.Field | None = None, nullable: bool = False) -> Page:
    """One page of ``query`` ordered by (sort_expr, id).

    ``value_of(row)`` reads a row's sort value for the next cursor. ``value_field`` is the column
    whose type the sort values have (``sort_expr`` itself when that is a column): a cursor's value
    must be one it could hold, or the cursor is a 422. Cursors name their sort (``sort_key``, by
    default the column and direction), so one from another sort is refused rather than misread.

    ``sort_expr`` must never be NULL unless ``nullable``: then rows without a value come before
    every value, ascending, and after every value, descending (as NULLs do on SQLite). A stand-in
    value such as COALESCE(x, -1) would not do: a real value could sort on either side of it.
    """
    if not isinstance(sort_expr, peewee.ColumnBase):
        # A scalar subquery (a custom field's value) has no IS NULL or NULLS FIRST of its own.
        sort_expr = peewee.NodeList((sort_expr,))
    if value_field is None and isinstance(sort_expr, peewee.Field):
        value_field = sort_expr
    if sort_key is None:
        sort_key = (f"{value_field.model._meta.table_name}.{value_field.column_name}"
                    if isinstance(sort_expr, peewee.Field) else "expression")
        sort_key = ("-" if descending else "") + sort_key
    if cursor:
        query = query.where(_after(cursor, sort_key, sort_expr, id_field, descending, value_field,
                                   nullable))
    if nullable:
        order = (sort_expr.desc(nulls="last"), id_field.desc()) if descending \
            else (sort_expr.asc(nulls="first"), id_field)
    else:
        order = (sort_expr.desc(), id_field.desc()) if descending else (sort_expr, id_field)
    rows = list(query.order_by(*order).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = make_cursor(value_of(rows[-1]), rows[-1].id, sort_key) if more and rows \
        else None
    return Page(rows, next_cursor, limit)


def _after(cursor: str, sort_key: str, sort_expr, id_field, descending: bool,
           value_field: peewee.Field | None, nullable: bool) -> peewee.Expression:
    """The rows that come after the cursor's row, in the page's order."""
    value, row_id = read_cursor(cursor, sort_key)
    if value is None:
        if not nullable:
            raise _bad_cursor()
        later_id = id_field < row_id if descending else id_field > row_id
        # Ascending, every row with a value comes after the rows without one.
        return (sort_expr.is_null() & later_id) if descending \
            else ((sort_expr.is_null() & later_id) | sort_expr.is_null(False))
    if not _fits(value, _value_type(value_field), value_field):
        raise _bad_cursor()
    if value_field is not None:
        try:
            # Row values are not converted by peewee; an aware datetime must be stored-form.
            value = value_field.db_value(value)
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            raise _bad_cursor() from None
    key = peewee.Tuple(sort_expr, id_field)
    # A row without a value compares as unknown here, so it never passes either test.
    if descending:
        later = key < peewee.Tuple(value, row_id)
        return (later | sort_expr.is_null()) if nullable else later
    return key > peewee.Tuple(value, row_id)


def clamp_limit(limit: int | None, maximum: int, default: int = 50) -> int:
    if limit is None:
        return min(default, maximum)
    if limit < 1 or limit > maximum:
        raise ValidationError({"limit": f"Must be between 1 and {maximum}."}, location="query")
    return limit
