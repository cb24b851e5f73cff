"""Forecast (weighted pipeline) and targets with attainment, in SQL.

The weighted pipeline of a period is the sum of amount x stage probability over open deals
expected to close in it; lost deals never count, won deals count as won (at their full amount,
in the period they were won). Targets are per user, period (``2025-03``, ``2025-Q1``, ``2025``)
and currency; attainment is won revenue in the period over the target.
"""
from __future__ import annotations

import datetime as dt
import decimal
import re
from collections import defaultdict

from peewee import JOIN, fn

from crmkit.auth import scoping
from crmkit.errors import NotFound, ValidationError

from crmkit_sales import people, sql
from crmkit_sales.models import OPEN, WON, Deal, Stage, Target
from crmkit_sales.money import check_currency, round_money, to_decimal

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4]))?$")
UNSCHEDULED = "(no date)"


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """``2025-03`` -> (2025-03-01, 2025-04-01); ``2025-Q1``; ``2025``. End is exclusive."""
    match = _PERIOD.match(period or "")
    if not match or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        raise ValidationError({"period": "Like 2025-03, 2025-Q1 or 2025."})
    year = int(match.group(1))
    if match.group(2):
        month = int(match.group(2))
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), month % 12 + 1, 1)
    elif match.group(3):
        quarter = int(match.group(3))
        start = dt.date(year, 3 * quarter - 2, 1)
        end = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    else:
        start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    return start, end


def _scoped(query):
    condition = scoping.scope_condition(Deal)
    return query if condition is None else query.where(condition)


def forecast(grain: str = "month", pipeline_id: int | None = None, owner_id: int | None = None,
             start: dt.date | None = None, end: dt.date | None = None,
             by_owner: bool = True) -> dict:
    if grain not in sql.GRAINS:
        raise ValidationError({"grain": f"One of: {', '.join(sql.GRAINS)}."}, location="query")
    keys_open = [sql.period(Deal.expected_close, grain)]
    keys_won = [sql.period(Deal.won_at, grain)]
    if by_owner:
        keys_open.append(Deal.owner_id)
        keys_won.append(Deal.owner_id)

    def common(query, column):
        if pipeline_id is not None:
            query = query.where(Deal.pipeline == pipeline_id)
        if owner_id is not None:
            query = query.where(Deal.owner_id == owner_id)
        if start is not None:
            query = query.where(column >= start)
        if end is not None:
            query = query.where(column < end)
        return _scoped(query)

    open_rows = common(
        Deal.select(*keys_open, Deal.currency, fn.COUNT(Deal.id), sql.money_sum(Deal.amount),
                    sql.weighted_sum(Deal.amount, Stage.probability))
        .join(Stage, on=(Deal.stage == Stage.id)).where(Deal.status == OPEN),
        Deal.expected_close).group_by(*keys_open, Deal.currency).tuples()
    won_rows = common(
        Deal.select(*keys_won, Deal.currency, fn.COUNT(Deal.id), sql.money_sum(Deal.amount))
        .where(Deal.status == WON), Deal.won_at).group_by(*keys_won, Deal.currency).tuples()
    zero = decimal.Decimal("0.00")
    table: dict = defaultdict(lambda: {"open_deals": 0, "pipeline": zero, "weighted": zero,
                                       "won_deals": 0, "won": zero})
    width = len(keys_open)
    for row in open_rows:
        entry = table[tuple(row[:width]) + (row[width],)]
        entry.update(open_deals=row[width + 1], pipeline=sql.money(row[width + 2]),
                     weighted=sql.money(row[width + 3], scale=100))
    for row in won_rows:
        entry = table[tuple(row[:width]) + (row[width],)]
        entry.update(won_deals=row[width + 1], won=sql.money(row[width + 2]))
    names = people.user_names([k[1] for k in table]) if by_owner else {}
    rows = []
    for key in sorted(table, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        row = {"period": key[0] or UNSCHEDULED}
        if by_owner:
            row.update(owner_id=key[1], owner=names.get(key[1]))
        entry = table[key]
        row.update(currency=key[-1], **entry, expected=entry["won"] + entry["weighted"])
        rows.append(row)
    columns = ["period"] + (["owner"] if by_owner else []) + [
        "currency", "open_deals", "pipeline", "weighted", "won_deals", "won", "expected"]
    return {"report": "forecast", "grain": grain, "columns": columns, "rows": rows}


# -- targets --------------------------------------------------------------------------------------

def set_target(user_id: int, period: str, currency: str, amount) -> Target:
    """Create or replace the user's target for the period and currency."""
    errors: dict = {}
    people.check_user(user_id, "user_id", errors)
    currency = check_currency(currency, "currency", errors)
    value = to_decimal(amount, "amount", errors)
    try:
        start, end = period_bounds(period)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    Target.insert(user_id=user_id, period=period, period_start=start, period_end=end,
                  currency=currency, amount=round_money(value)).on_conflict(
        conflict_target=[Target.user_id, Target.period, Target.currency],
        update={Target.amount: round_money(value)}).execute()
    return Target.get(Target.user_id == user_id, Target.period == period,
                      Target.currency == currency)


def delete_target(target_id: int) -> None:
    if not Target.delete().where(Target.id == target_id).execute():
        raise NotFound(f"No target with id {target_id}.")


def attainment(period: str | None = None, user_id: int | None = None) -> dict:
    """Each target with the revenue won against it (one query: targets LEFT JOIN won deals)."""
    won = (Deal.status == WON) & (Deal.owner_id == Target.user_id) \
        & (Deal.currency == Target.currency) & (Deal.won_at >= Target.period_start) \
        & (Deal.won_at < Target.period_end)
    condition = scoping.scope_condition(Deal)
    if condition is not None:
        won = won & condition
    query = (Target.select(Target, fn.COUNT(Deal.id).alias("deals"),
                           sql.money_sum(Deal.amount).alias("won"))
             .join(Deal, JOIN.LEFT_OUTER, on=won)
             .group_by(Target.id).order_by(Target.period_start, Target.user_id, Target.currency))
    if period:
        query = query.where(Target.period == period)
    if user_id is not None:
        query = query.where(Target.user_id == user_id)
    targets = list(query)
    names = people.user_names([t.user_id for t in targets])
    rows = []
    for t in targets:
        won_amount = sql.money(t.won)
        rows.append({"id": t.id, "user_id": t.user_id, "user": names.get(t.user_id),
                     "period": t.period, "currency": t.currency, "target": t.amount,
                     "won": won_amount, "deals": t.deals,
                     "attainment": ((won_amount / t.amount * 100).quantize(
                         decimal.Decimal("0.1")) if t.amount else None)})
    return {"report": "targets", "columns": ["user", "period", "currency", "target", "won",
                                              "deals", "attainment"], "rows": rows}
