"""Tiers: who qualifies for what, evaluated for all members in SQL.

A programme measures each member over its window (points earned, amount spent, or visits, over
a rolling N days or the calendar year) and compares the measure with the tier thresholds. The
downgrade policy decides what happens when a member falls short:

- ``immediate``: the tier follows the measure, down as well as up;
- ``end_of_next_period``: a tier reached in one period is kept to the end of the next. For
  calendar years that is ``max(tier by last year, tier by this year so far)``, which needs no
  state; for rolling windows the member's ``tier_kept_until`` is pushed N days on each time they
  qualify, and they fall back only once it has passed.

:func:`evaluate_tiers` does it in a handful of statements whatever the number of members: one
INSERT ... SELECT computes the new tier of every member whose tier (or keep date) changes into a
temporary table, then one INSERT writes the history and one UPDATE ... FROM moves the members.
Only the changed members come back to Python, for their ``loyalty.tier.changed`` events.
"""
from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass

import peewee
from peewee import JOIN, Case, NodeList, SQL, Value, fn

from crmkit.customers.models import Interaction
from crmkit.db import BaseModel, UTCDateTimeField, database, is_sqlite, utcnow
from crmkit.events import emit_many
from crmkit_loyalty.models import Member, Programme, Tier, TierChange, Transaction

AMOUNT_SCALE = 10_000  # amounts are summed in 1/10000 units: integers, exact on both engines
NO_TIER = -1
# Evaluations of at most this many members apply their changes from Python (a purchase
# upgrading its buyer); larger ones go through the temporary table.
SMALL = 100


class TierEvaluationRow(BaseModel):
    """Scratch rows of one evaluation: a temporary table of the connection, emptied after use."""

    member_id = peewee.BigIntegerField(primary_key=True)
    customer_id = peewee.IntegerField()
    old_tier = peewee.IntegerField(null=True)
    new_tier = peewee.IntegerField(null=True)
    new_kept = UTCDateTimeField(null=True)
    measure = peewee.BigIntegerField(null=True)

    class Meta:
        table_name = "loyalty_tier_eval"


@dataclass(frozen=True)
class Windows:
    start: dt.datetime                 # the current window: [start, end)
    end: dt.datetime
    prev_start: dt.datetime | None     # calendar years: last year, [prev_start, start)
    kept_now: dt.datetime | None       # how long a tier reached now is kept
    kept_prev: dt.datetime | None      # how long a tier reached last year is kept


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc) if value.tzinfo else value.replace(
        tzinfo=dt.timezone.utc)


def _year_start(year: int) -> dt.datetime:
    return dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc)


def windows(programme: Programme, as_of: dt.datetime) -> Windows:
    as_of = _utc(as_of)
    keep = programme.tier_downgrade == "end_of_next_period"
    if programme.tier_window == "calendar_year":
        start = _year_start(as_of.year)
        return Windows(start, as_of, _year_start(as_of.year - 1) if keep else None,
                       _year_start(as_of.year + 2) if keep else None,
                       _year_start(as_of.year + 1) if keep else None)
    days = dt.timedelta(days=programme.tier_window_days)
    return Windows(as_of - days, as_of, None, as_of + days if keep else None, None)


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    """Datetimes as the columns store them (naive UTC), for values that are not compared with a
    column peewee could convert them for."""
    return None if value is None else _utc(value).replace(tzinfo=None)


def threshold_units(programme: Programme, threshold: decimal.Decimal) -> int:
    """A threshold in the integer units the measure is summed in."""
    if programme.tier_measure == "amount":
        return int(decimal.Decimal(threshold) * AMOUNT_SCALE)
    return math.ceil(decimal.Decimal(threshold))  # whole points and visits: 99.5 means 100


def measure_to_display(programme: Programme, units) -> decimal.Decimal:
    units = decimal.Decimal(int(units or 0))
    return units / AMOUNT_SCALE if programme.tier_measure == "amount" else units


def measure_query(programme: Programme, w: Windows, member_ids: list[int] | None = None,
                  customer_ids: list[int] | None = None) -> peewee.SelectQuery:
    """Per member (points) or customer (amount, visits): ``key``, ``now_value``, ``prev_value``."""
    lowest = w.prev_start or w.start
    if programme.tier_measure == "points":
        T = Transaction
        current = T.occurred_at >= w.start
        query = (T.select(T.member.alias("key"),
                          fn.SUM(Case(None, [(current, T.qualifying_points)], 0)).alias("now_value"),
                          fn.SUM(Case(None, [(~current, T.qualifying_points)], 0)).alias("prev_value"))
                 .where((T.programme == programme.id) & (T.qualifying_points != 0)
                        & (T.occurred_at >= lowest) & (T.occurred_at < w.end))
                 .group_by(T.member))
        if member_ids is not None:
            query = query.where(T.member.in_(member_ids))
        return query
    I = Interaction
    current = I.occurred_at >= w.start
    if programme.tier_measure == "amount":
        units = peewee.Cast(fn.ROUND(I.amount * AMOUNT_SCALE), "BIGINT")
        signed = Case(I.type, [("purchase", units)], units * -1)  # (-node is DESC in peewee)
        values = (fn.SUM(Case(None, [(current, signed)], 0)),
                  fn.SUM(Case(None, [(~current, signed)], 0)))
        condition = I.type.in_(["purchase", "refund"]) & (I.currency == programme.currency)
    else:
        day = fn.DATE(I.occurred_at)
        values = tuple(fn.COUNT(NodeList((SQL("DISTINCT"), Case(None, [(c, day)], None))))
                       for c in (current, ~current))
        condition = I.type.in_(list(programme.visit_types or ["visit", "purchase"]))
    query = (I.select(I.customer.alias("key"), values[0].alias("now_value"),
                      values[1].alias("prev_value"))
             .where(condition & (I.occurred_at >= lowest) & (I.occurred_at < w.end))
             .group_by(I.customer))
    if customer_ids is not None:
        query = query.where(I.customer.in_(customer_ids))
    return query


def _rank_of(programme: Programme, tiers: list[Tier], measure) -> Case:
    """CASE giving the rank of the best tier the measure reaches (-1 for none)."""
    whens = [(measure >= threshold_units(programme, t.threshold), t.rank)
             for t in sorted(tiers, key=lambda t: t.rank, reverse=True)]
    return Case(None, whens, NO_TIER) if whens else Value(NO_TIER)


def _differs(a, b):
    """a and b differ, NULLs included (portable IS DISTINCT FROM)."""
    return ((a.is_null() & b.is_null(False)) | (a.is_null(False) & b.is_null()) | (a != b))


def _rank_for(programme: Programme, tiers: list[Tier], units: int) -> int:
    """The rank a measure reaches, in Python (for members with no rows in the window)."""
    reached = [t.rank for t in tiers if units >= threshold_units(programme, t.threshold)]
    return max(reached, default=NO_TIER)


def evaluation_query(programme: Programme, as_of: dt.datetime, member_ids: list[int] | None,
                     upgrades_only: bool) -> peewee.SelectQuery:
    """Members whose tier (or keep date) changes: (member_id, customer_id, old_tier, new_tier,
    new_kept, measure).

    The ranks are computed inside the aggregate, once per member: an aggregate is never inlined
    into the outer query, so the CASE over the thresholds is not evaluated again for every place
    the outer query uses it.
    """
    tiers = list(Tier.select().where(Tier.programme == programme.id))
    w = windows(programme, as_of)
    customer_ids = None
    if member_ids is not None and programme.tier_measure != "points":
        customer_ids = [c for (c,) in Member.select(Member.customer_id)
                        .where(Member.id.in_(member_ids)).tuples()]
    measures = measure_query(programme, w, member_ids, customer_ids)
    now_sum, prev_sum = measures.selected_columns[1].unwrap(), measures.selected_columns[2].unwrap()
    agg = measures.select_extend(_rank_of(programme, tiers, now_sum).alias("now_rank"),
                                 _rank_of(programme, tiers, prev_sum).alias("prev_rank")
                                 ).alias("agg")
    zero_rank = _rank_for(programme, tiers, 0)
    current_tier = Tier.alias("ct")
    key = Member.id if programme.tier_measure == "points" else Member.customer_id
    now_value = fn.COALESCE(agg.c.now_value, 0)
    prev_value = fn.COALESCE(agg.c.prev_value, 0)
    target_now = fn.COALESCE(agg.c.now_rank, zero_rank)
    current = fn.COALESCE(current_tier.rank, NO_TIER)
    kept = Member.tier_kept_until
    no_date = peewee.Cast(Value(None), "TIMESTAMP")
    decisive = now_value  # the measure behind the new tier, for the history
    if programme.tier_downgrade == "immediate":
        new_rank, new_kept = target_now, no_date
    elif programme.tier_window == "calendar_year":
        # Stateless: the better of last year's tier and this year's (see the module docstring).
        target_prev = fn.COALESCE(agg.c.prev_rank, zero_rank)
        now_wins = target_now >= target_prev
        new_rank = Case(None, [(now_wins, target_now)], target_prev)
        new_kept = no_date
        decisive = Case(None, [(now_wins, now_value)], prev_value)
    else:
        qualifies = (target_now >= current) | kept.is_null() | (kept <= as_of)
        new_rank = Case(None, [(qualifies, target_now)], current)
        new_kept = Case(None, [(new_rank == NO_TIER, no_date), (qualifies, _naive(w.kept_now))],
                        kept)
    if upgrades_only:
        up = new_rank > current
        new_rank = Case(None, [(up, new_rank)], current)
        new_kept = Case(None, [(up, new_kept)], kept)
    by_rank = {t.rank: t.id for t in tiers}
    new_tier = Case(new_rank, list(by_rank.items()), None) if by_rank else Value(None)
    query = (Member.select(Member.id.alias("member_id"), Member.customer_id,
                           Member.tier.alias("old_tier"), new_tier.alias("new_tier"),
                           new_kept.alias("new_kept"), decisive.alias("measure"))
             .join(agg, JOIN.LEFT_OUTER, on=(agg.c.key == key))
             .switch(Member).join(current_tier, JOIN.LEFT_OUTER,
                                  on=(current_tier.id == Member.tier))
             .where((Member.programme == programme.id) & (Member.status == "active")
                    & (_differs(fn.COALESCE(new_tier, NO_TIER), fn.COALESCE(Member.tier, NO_TIER))
                       | _differs(new_kept, kept))))
    if member_ids is not None:
        query = query.where(Member.id.in_(member_ids))
    return query


@dataclass
class Evaluation:
    programme: str
    as_of: dt.datetime
    changed: int = 0
    upgraded: int = 0
    downgraded: int = 0


def evaluate_tiers(programme: Programme, as_of: dt.datetime | None = None,
                   member_ids: list[int] | None = None, upgrades_only: bool = False,
                   reason: str = "evaluation") -> Evaluation:
    """Move every member (or those in ``member_ids``) to the tier they qualify for at
    ``as_of``; returns how many moved. Call it inside a write transaction."""
    as_of = _utc(as_of or utcnow())
    result = Evaluation(programme.code, as_of)
    query = evaluation_query(programme, as_of, member_ids, upgrades_only)
    with database.atomic():
        if member_ids is not None and len(member_ids) <= SMALL:
            rows = list(query.dicts())
            _apply_small(programme, rows, as_of, reason)
        else:
            rows = _apply_set_based(programme, query, as_of, reason)
        ranks = {t.id: t for t in Tier.select().where(Tier.programme == programme.id)}
        changes = []
        for row in rows:
            if row["old_tier"] == row["new_tier"]:
                continue  # only the keep date moved
            old, new = ranks.get(row["old_tier"]), ranks.get(row["new_tier"])
            up = (new.rank if new else NO_TIER) > (old.rank if old else NO_TIER)
            result.changed += 1
            result.upgraded += up
            result.downgraded += not up
            changes.append((row["customer_id"], {
                "member_id": row["member_id"], "customer_id": row["customer_id"],
                "programme": programme.code, "from": old.name if old else None,
                "to": new.name if new else None, "direction": "up" if up else "down",
                "measure": measure_to_display(programme, row["measure"]), "reason": reason,
                "as_of": as_of}))
        # One event per member that moved, written in bulk: an evaluation may move thousands.
        emit_many("loyalty.tier.changed", changes, subject="customer")
        if member_ids is None:
            Programme.update(tiers_evaluated_at=as_of).where(
                Programme.id == programme.id).execute()
    return result


def _apply_small(programme: Programme, rows: list[dict], as_of: dt.datetime,
                 reason: str) -> None:
    for row in rows:
        changed_tier = row["old_tier"] != row["new_tier"]
        kept = UTCDateTimeField().python_value(row["new_kept"]) if row["new_kept"] else None
        update = {Member.tier: row["new_tier"], Member.tier_kept_until: kept,
                  Member.updated_at: utcnow()}
        if changed_tier:
            update[Member.tier_since] = as_of
            TierChange.create(member=row["member_id"], from_tier=row["old_tier"],
                              to_tier=row["new_tier"], reason=reason, changed_at=as_of,
                              measure=measure_to_display(programme, row["measure"]))
        Member.update(update).where(Member.id == row["member_id"]).execute()


def _display_sql(programme: Programme, units):
    """The measure in the programme's own units, computed by the database (history rows)."""
    if programme.tier_measure != "amount":
        return units
    if is_sqlite():
        return units / float(AMOUNT_SCALE)  # REAL, quantised to 4 places when read back
    return peewee.Cast(units, "NUMERIC") / AMOUNT_SCALE


def _apply_set_based(programme: Programme, query: peewee.SelectQuery, as_of: dt.datetime,
                     reason: str) -> list[dict]:
    E = TierEvaluationRow
    # Created once per connection and emptied, never dropped: SQLite refuses to drop a table
    # while any statement of the connection is still reading (a caller looping over a query).
    E.create_table(safe=True, temporary=True)
    E.delete().execute()
    try:
        E.insert_from(query, [E.member_id, E.customer_id, E.old_tier, E.new_tier, E.new_kept,
                              E.measure]).execute()
        moved = _differs(fn.COALESCE(E.old_tier, NO_TIER), fn.COALESCE(E.new_tier, NO_TIER))
        TierChange.insert_from(
            E.select(E.member_id, E.old_tier, E.new_tier, Value(reason),
                     _display_sql(programme, E.measure), Value(_naive(as_of))).where(moved),
            [TierChange.member, TierChange.from_tier, TierChange.to_tier, TierChange.reason,
             TierChange.measure, TierChange.changed_at]).execute()
        (Member.update({Member.tier: E.new_tier, Member.tier_kept_until: E.new_kept,
                        Member.tier_since: Case(None, [(moved, _naive(as_of))],
                                                Member.tier_since),
                        Member.updated_at: _naive(utcnow())})
         .from_(E).where(Member.id == E.member_id).execute())
        return list(E.select(E.member_id, E.customer_id, E.old_tier, E.new_tier, E.measure)
                    .where(moved).order_by(E.member_id).dicts())
    finally:
        E.delete().execute()


# -- reading --------------------------------------------------------------------------------------

def progress(programme: Programme, member: Member, as_of: dt.datetime | None = None) -> dict:
    """The member's tier, its measure so far and what the next tier needs."""
    as_of = _utc(as_of or utcnow())
    w = windows(programme, as_of)
    ids = dict(member_ids=[member.id]) if programme.tier_measure == "points" else dict(
        customer_ids=[member.customer_id])
    row = measure_query(programme, w, **ids).dicts().first() or {}
    value = measure_to_display(programme, row.get("now_value"))
    tiers = list(Tier.select().where(Tier.programme == programme.id).order_by(Tier.rank))
    current = next((t for t in tiers if t.id == member.tier_id), None)
    above = [t for t in tiers if current is None or t.rank > current.rank]
    following = next((t for t in above if t.threshold > value), None)
    kept = member.tier_kept_until
    if w.prev_start is not None and current is not None and current.threshold > 0:
        # Calendar years keep no state: this year's measure keeps the tier to the end of next
        # year, otherwise last year's keeps it to the end of this one.
        reached_now = _rank_for(programme, tiers, int(row.get("now_value") or 0))
        kept = w.kept_now if reached_now >= current.rank else w.kept_prev
    out = {"tier": tier_dict(current) if current else None, "since": member.tier_since,
           "kept_until": kept, "measure": programme.tier_measure,
           "window_start": w.start, "window_end": w.end, "value": value, "next": None}
    if w.prev_start is not None:
        out["previous_period_value"] = measure_to_display(programme, row.get("prev_value"))
    if following is not None:
        out["next"] = {"tier": tier_dict(following), "threshold": following.threshold,
                       "remaining": following.threshold - value}
    return out


def tier_dict(t: Tier) -> dict:
    return {"id": t.id, "name": t.name, "rank": t.rank, "threshold": t.threshold,
            "earn_multiplier": t.earn_multiplier, "discount_percent": t.discount_percent,
            "perks": list(t.perks or [])}


def history(member: Member) -> list[dict]:
    names = {t.id: t.name for t in Tier.select().where(Tier.programme == member.programme_id)}
    return [{"from": names.get(c.from_tier_id), "to": names.get(c.to_tier_id),
             "reason": c.reason, "changed_at": c.changed_at, "measure": c.measure}
            for c in TierChange.select().where(TierChange.member == member)
            .order_by(TierChange.changed_at, TierChange.id)]


# -- schedule -------------------------------------------------------------------------------------

def period_start(schedule: str, now: dt.datetime) -> dt.datetime | None:
    day = _utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule == "daily":
        return day
    if schedule == "weekly":
        return day - dt.timedelta(days=day.weekday())
    if schedule == "monthly":
        return day.replace(day=1)
    if schedule == "yearly":
        return day.replace(month=1, day=1)
    return None  # manual


def evaluation_due(programme: Programme, now: dt.datetime) -> bool:
    start = period_start(programme.tier_schedule, now)
    if start is None:
        return False
    last = programme.tiers_evaluated_at
    return last is None or last < start
