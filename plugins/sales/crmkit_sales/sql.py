"""SQL pieces that differ between SQLite and PostgreSQL, for reports computed in the database.

Money sums: PostgreSQL's numeric is exact; SQLite keeps decimals as binary floats, so there sums
run over whole cents (integers, exact) and are scaled back in Python.
"""
from __future__ import annotations

import decimal

import peewee
from peewee import SQL, fn

from crmkit.db import is_sqlite

from crmkit_sales.money import CENT, round_money

GRAINS = ("month", "quarter", "year")


def period(column, grain: str):
    """``2025-03``, ``2025-Q1`` or ``2025`` for a date or timestamp column."""
    if grain not in GRAINS:
        raise ValueError(grain)
    # Formats are SQL literals, not parameters: PostgreSQL matches a GROUP BY expression to the
    # selected one only when they are written the same, and $1 is not $2.
    if is_sqlite():
        year = fn.strftime(SQL("'%Y'"), column)
        if grain == "month":
            return fn.strftime(SQL("'%Y-%m'"), column)
        if grain == "year":
            return year
        quarter = (peewee.Cast(fn.strftime(SQL("'%m'"), column), "INTEGER") + SQL("2")) / SQL("3")
        return year.concat(SQL("'-Q'")).concat(peewee.Cast(quarter, "TEXT"))
    fmt = {"month": "'YYYY-MM'", "quarter": """'YYYY-"Q"Q'""", "year": "'YYYY'"}[grain]
    return fn.to_char(column, SQL(fmt))


def _cents(expr):
    return peewee.Cast(fn.ROUND(expr * SQL("100")), "INTEGER")


def money_sum(column):
    """SUM of a money column, exact on both engines (read it back with :func:`money`)."""
    return fn.SUM(_cents(column)) if is_sqlite() else fn.SUM(column)


def weighted_sum(amount, percent):
    """SUM(amount x percent): read it back with ``money(value, scale=100)``."""
    return fn.SUM(_cents(amount) * percent) if is_sqlite() else fn.SUM(amount * percent)


def money(value, scale: int = 1) -> decimal.Decimal:
    """A sum from :func:`money_sum` / :func:`weighted_sum` as Decimal cents."""
    if value is None:
        return decimal.Decimal("0.00")
    amount = decimal.Decimal(str(value))
    if is_sqlite():
        amount = amount * CENT
    return round_money(amount / scale)


def seconds_between(start, end):
    """Seconds from ``start`` to ``end`` (timestamp columns) as SQL."""
    if is_sqlite():
        return (fn.julianday(end) - fn.julianday(start)) * 86400
    return fn.date_part("epoch", end - start)
