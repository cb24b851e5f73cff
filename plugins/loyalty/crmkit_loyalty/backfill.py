"""Backfill: award points for purchases recorded before the programme (or its rules) existed.

Same arithmetic and dedupe keys as live earning (:mod:`crmkit_loyalty.earn`), so running it twice,
or over purchases that already earned live, awards nothing twice. It works in batches of members
(ordered by customer), one write transaction each, with the batch's members locked:

1. enrol every purchaser who is not a member yet: one INSERT ... SELECT;
2. read the batch's unprocessed purchases straight from the cursor and compute their points in
   Python (the rules are data: line multipliers, caps, tier multipliers);
3. write the ledger rows in one bulk statement (executemany on SQLite, COPY on PostgreSQL), then
   open their lots and move the balances with one INSERT ... SELECT and one UPDATE ... FROM;
4. first-purchase bonuses, referral rewards and refunds go through the live code for the few
   members concerned.

Finally every member's tier is evaluated once, set-based.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from peewee import SQL, Value, fn

from crmkit.customers.models import Customer, Interaction
from crmkit.db import database, is_sqlite, utcnow, write_transaction
from crmkit_loyalty import earn, ledger
from crmkit_loyalty.members import member_number_sql
from crmkit_loyalty.models import Lot, Member, Programme, Referral, Tier, TierChange, Transaction
from crmkit_loyalty.programmes import entry_tier, expires_at_for
from crmkit_loyalty.referrals import reward_referral

D = decimal.Decimal
_FOUR_PLACES = D("0.0001")
BULK_CACHE_KIB = 256 * 1024
_COLUMNS = ("programme", "member", "kind", "points", "qualifying_points", "shortfall", "cause",
            "interaction_id", "rule_id", "available_at", "expires_at", "dedupe_key",
            "occurred_at", "created_at")


@dataclass
class BackfillResult:
    enrolled: int = 0
    purchases: int = 0
    transactions: int = 0
    points: int = 0
    refunds: int = 0
    tiers_changed: int = 0


def _window(programme: Programme, since: dt.datetime | None, until: dt.datetime | None):
    condition = Interaction.type == "purchase"
    for lower in (programme.starts_at, since):
        if lower is not None:
            condition &= Interaction.occurred_at >= lower
    for upper in (programme.ends_at, until):
        if upper is not None:
            condition &= Interaction.occurred_at < upper
    return condition


def enrol_purchasers(programme: Programme, condition, now: dt.datetime) -> int:
    """Enrol, in one statement, every customer with a purchase in the window and no membership."""
    tier = entry_tier(programme)
    before = Member.select(fn.COALESCE(fn.MAX(Member.id), 0)).scalar()
    membership = Member.select(SQL("1")).where((Member.programme == programme.id)
                                               & (Member.customer_id == Interaction.customer))
    buyers = (Interaction.select(Value(programme.id), Interaction.customer, Value(_db_time(now)),
                                 Value("backfill"), Value(_db_time(now)),
                                 Value(tier.id if tier else None),
                                 Value(_db_time(now) if tier else None), Value("active"),
                                 Value(0), Value(0))
              .join(Customer, on=(Customer.id == Interaction.customer))
              .where(condition & Customer.merged_into.is_null() & ~fn.EXISTS(membership))
              .group_by(Interaction.customer))
    Member.insert_from(buyers, [Member.programme, Member.customer_id, Member.enrolled_at,
                                Member.enrolled_via, Member.updated_at, Member.tier,
                                Member.tier_since, Member.status, Member.points_balance,
                                Member.points_owed]).execute()
    new = Member.select(Member.id).where((Member.programme == programme.id)
                                         & (Member.id > before))
    count = (Member.update(member_number=member_number_sql(programme.member_prefix))
             .where(Member.id.in_(new)).execute())
    if tier is not None and count:
        TierChange.insert_from(
            Member.select(Member.id, Member.tier, Value("enrolment"), Value(_db_time(now)))
            .where(Member.id.in_(new)),
            [TierChange.member, TierChange.to_tier, TierChange.reason, TierChange.changed_at]
        ).execute()
    return count


def _db_time(value: dt.datetime | None):
    """A datetime as the columns hold it: naive UTC (text on SQLite, as peewee writes it)."""
    if value is None:
        return None
    value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(" ") if is_sqlite() else value


def _read_time(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def _expiry_column(programme: Programme) -> Callable[[dt.datetime], object]:
    """``expires_at`` as the column holds it; month and year ends are shared by every purchase
    of a day, so they are computed once per day."""
    if programme.expiry_policy in ("never", None):
        return lambda at: None
    if programme.expiry_policy == "days":
        return lambda at: _db_time(expires_at_for(programme, at))
    by_day: dict[dt.date, object] = {}

    def expiry(at: dt.datetime):
        day = at.date()
        if day not in by_day:
            by_day[day] = _db_time(expires_at_for(programme, at))
        return by_day[day]

    return expiry


def _read_amount(value) -> decimal.Decimal:
    if value is None:
        return D(0)
    if not isinstance(value, D):
        value = D(str(value))
    return value.quantize(_FOUR_PLACES)


def bulk_insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert plain tuples fast: executemany on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    fields = [model._meta.fields[name] for name in columns]
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    table = model._meta.table_name
    if is_sqlite():
        marks = ", ".join("?" for _ in fields)
        database.cursor().executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        return
    with database.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _refresh_statistics(*models) -> None:
    """Both engines plan by their statistics. Right after a bulk import (this command's usual
    moment) there are none, or they describe empty tables: PostgreSQL then turns a 50 ms join
    into a 5 s nested loop, and SQLite reads every purchase of the table for each batch through
    the type index instead of the batch's customers through theirs. ANALYZE samples a bounded
    number of rows (``analysis_limit`` on SQLite), so it costs milliseconds even on big tables."""
    if is_sqlite():
        database.execute_sql("PRAGMA analysis_limit = 1000")
        for model in models:
            database.execute_sql(f'ANALYZE "{model._meta.table_name}"')
    else:
        names = ", ".join(f'"{m._meta.table_name}"' for m in models)
        database.execute_sql(f"ANALYZE {names}")


def _lock(member_ids: list[int]) -> None:
    if member_ids and not is_sqlite():
        list(Member.select(Member.id).where(Member.id.in_(member_ids)).order_by(Member.id)
             .for_update().tuples())


class _Caps:
    """Running totals per (member, rule, day/month window) for the rules that have caps."""

    def __init__(self, rules):
        self.capped = {r.id: r for r in rules if r.cap_per_day or r.cap_per_month}
        self.used: dict[tuple, int] = defaultdict(int)
        self.loaded: set[tuple] = set()

    def allow(self, member_id: int, rule, points: int, at: dt.datetime) -> int:
        if rule.id not in self.capped:
            return points
        windows = earn.caps_of(rule, at)
        for cap, start, end in windows:
            key = (member_id, rule.id, start)
            if key not in self.loaded:  # what live earning gave before this run
                self.loaded.add(key)
                self.used[key] += int(
                    Transaction.select(fn.COALESCE(fn.SUM(Transaction.points), 0))
                    .where((Transaction.member == member_id) & (Transaction.rule_id == rule.id)
                           & (Transaction.kind == "earn") & (Transaction.occurred_at >= start)
                           & (Transaction.occurred_at < end)).scalar())
            points = min(points, max(0, cap - self.used[key]))
        for _cap, start, _end in windows:
            self.used[(member_id, rule.id, start)] += points
        return points


@contextmanager
def _large_cache():
    """SQLite keeps 2 MB of pages per connection by default: a million ledger rows landing in
    random places of five indexes then read most pages back from the OS for every insert. A bulk
    run gets a bigger cache for as long as it lasts."""
    if not is_sqlite():
        yield
        return
    before = database.execute_sql("PRAGMA cache_size").fetchone()[0]
    database.execute_sql(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA cache_size = {before}")


def backfill(programme: Programme, **options) -> BackfillResult:
    """Award points for every purchase in the window that has not earned yet (see the module).

    Options: ``since``/``until`` (purchase times), ``batch_members`` (members per transaction),
    ``now``, ``evaluate`` (tiers afterwards, default True), ``progress`` (called per batch).
    """
    with _large_cache():
        return _backfill(programme, **options)


def _backfill(programme: Programme, *, since: dt.datetime | None = None,
              until: dt.datetime | None = None, batch_members: int = 5000,
              now: dt.datetime | None = None, evaluate: bool = True,
              progress: Callable[[BackfillResult], None] | None = None) -> BackfillResult:
    now = now or utcnow()
    result = BackfillResult()
    condition = _window(programme, since, until)
    with write_transaction():
        _refresh_statistics(Interaction, Member, Transaction)
        if programme.auto_enrol:
            result.enrolled = enrol_purchasers(programme, condition, now)
            _refresh_statistics(Member)
    rules = earn.programme_rules(programme)
    timed = any(r.starts_at or r.ends_at for r in rules)
    fixed_book = earn.rule_book(rules, now) if not timed else None
    multipliers = {t.id: t.earn_multiplier for t in
                   Tier.select().where(Tier.programme == programme.id)}
    last_customer = 0
    while True:
        with write_transaction():
            members = list(Member.select(Member.id, Member.customer_id, Member.tier,
                                         Member.first_purchase_at, Member.points_owed)
                           .where((Member.programme == programme.id)
                                  & (Member.status == "active")
                                  & (Member.customer_id > last_customer))
                           .order_by(Member.customer_id).limit(batch_members).tuples())
            if not members:
                break
            _lock([m[0] for m in members])
            first, last_customer = members[0][1], members[-1][1]
            referred = _backfill_batch(programme, members, condition, first, last_customer,
                                       rules, fixed_book, multipliers, now, result)
        # Referral rewards emit events: each in a short transaction of its own, so a batch
        # holding thousands of member locks never waits at its commit for the feed's turn.
        for member_id, interaction_id in referred:
            with write_transaction():
                reward_referral(programme, ledger.lock_member(member_id),
                                Interaction.get_by_id(interaction_id), now)
        if progress is not None:
            progress(result)
    if evaluate:
        from crmkit_loyalty.tiers import evaluate_tiers
        with write_transaction():
            result.tiers_changed = evaluate_tiers(programme, as_of=now).changed
    return result


def _backfill_batch(programme, members, condition, first_customer, last_customer, rules,
                    fixed_book, multipliers, now, result) -> list[tuple[int, int]]:
    """One batch in the caller's transaction; returns (member, first purchase) pairs whose
    referral is now due."""
    by_customer = {customer: (member_id, tier_id, first_at, owed)
                   for member_id, customer, tier_id, first_at, owed in members}
    earned = Transaction.select(SQL("1")).where((Transaction.programme == programme.id)
                                                & (Transaction.interaction_id == Interaction.id))
    query = (Interaction.select(Interaction.id, Interaction.customer, Interaction.occurred_at,
                                Interaction.amount, Interaction.currency, Interaction.lines)
             .where(condition & (Interaction.customer >= first_customer)
                    & (Interaction.customer <= last_customer) & ~fn.EXISTS(earned))
             .order_by(Interaction.customer, Interaction.occurred_at, Interaction.id))
    caps = _Caps(rules)
    pending = dt.timedelta(days=programme.pending_days or 0)
    sqlite = is_sqlite()
    expiry = _expiry_column(programme)
    created = _db_time(now)
    rows, firsts = [], {}
    for interaction_id, customer, occurred, amount, currency, lines in database.execute(query):
        member = by_customer.get(customer)
        if member is None:
            continue  # a purchaser who is not a member (no auto-enrolment)
        member_id, tier_id, first_at, _owed = member
        at = _read_time(occurred)
        book = fixed_book or earn.rule_book(rules, at)
        result.purchases += 1
        stored = occurred if sqlite else at.replace(tzinfo=None)  # as the column holds it
        available = _db_time(at + pending) if pending else stored
        expires = expiry(at)
        if first_at is None and member_id not in firsts:
            firsts[member_id] = (interaction_id, at)
            bonus = book.first_purchase
            if bonus is not None:
                rows.append((programme.id, member_id, "earn", bonus.points, bonus.points, 0,
                             "first_purchase", interaction_id, bonus.id, available, expires,
                             earn.first_purchase_key(member_id), stored, created))
                result.points += bonus.points
        parsed = json.loads(lines) if lines and book.by_line else None
        earning = earn.spend_points(book, _read_amount(amount), currency, parsed,
                                    programme.rounding, multipliers.get(tier_id, earn.ONE))
        if earning is None:
            continue
        points = caps.allow(member_id, earning.rule, earning.points, at)
        if points <= 0:
            continue
        rows.append((programme.id, member_id, "earn", points, min(points, earning.qualifying), 0,
                     "purchase", interaction_id, earning.rule.id, available, expires,
                     earn.purchase_key(interaction_id, earning.rule.id), stored, created))
        result.points += points
    before = Transaction.select(fn.COALESCE(fn.MAX(Transaction.id), 0)).scalar()
    bulk_insert(Transaction, _COLUMNS, rows)
    result.transactions += len(rows)
    batch = Member.select(Member.id).where((Member.programme == programme.id)
                                           & (Member.customer_id >= first_customer)
                                           & (Member.customer_id <= last_customer))
    fresh = (Transaction.id > before) & Transaction.member.in_(batch)
    Lot.insert_from(Transaction.select(Transaction.id, Transaction.member, Transaction.points,
                                       Transaction.available_at, Transaction.expires_at)
                    .where(fresh),
                    [Lot.transaction, Lot.member, Lot.remaining, Lot.available_at,
                     Lot.expires_at]).execute()
    totals = (Transaction.select(Transaction.member.alias("member_id"),
                                 fn.SUM(Transaction.points).alias("total"))
              .where(fresh).group_by(Transaction.member).alias("totals"))
    (Member.update({Member.points_balance: Member.points_balance + totals.c.total,
                    Member.updated_at: created})
     .from_(totals).where(Member.id == totals.c.member_id).execute())
    referred = _first_purchases(programme, firsts)
    _refunds(programme, first_customer, last_customer, now, result)
    for member_id, *_rest in (m for m in members if m[4] > 0):
        ledger.settle_owed(ledger.lock_member(member_id), now)
    return referred


def _first_purchases(programme: Programme, firsts: dict) -> list[tuple[int, int]]:
    """Mark the batch's first purchases (their bonuses are in the bulk rows already); returns
    the (member, first purchase) pairs with a pending referral."""
    if not firsts:
        return []
    pairs = [(_db_time(at), member_id) for member_id, (_i, at) in firsts.items()]
    if is_sqlite():
        database.cursor().executemany(
            f'UPDATE "{Member._meta.table_name}" SET first_purchase_at = ? '
            "WHERE id = ? AND first_purchase_at IS NULL", pairs)
    else:
        database.execute_sql(
            f'UPDATE "{Member._meta.table_name}" AS m SET first_purchase_at = v.at '
            "FROM (SELECT unnest(%s::timestamp[]) AS at, unnest(%s::bigint[]) AS id) AS v "
            "WHERE m.id = v.id AND m.first_purchase_at IS NULL",
            ([p[0] for p in pairs], [p[1] for p in pairs]))
    referred = list(Referral.select(Referral.referred_customer_id, Member.id)
                    .join(Member, on=(Member.customer_id == Referral.referred_customer_id))
                    .where((Referral.programme == programme.id) & (Referral.status == "pending")
                           & (Member.programme == programme.id)
                           & Member.id.in_(list(firsts))).tuples())
    return [(member_id, firsts[member_id][0]) for _customer, member_id in referred]


def _refunds(programme: Programme, first_customer: int, last_customer: int, now: dt.datetime,
             result: BackfillResult) -> None:
    reversed_ = Transaction.select(SQL("1")).where((Transaction.programme == programme.id)
                                                   & (Transaction.interaction_id == Interaction.id))
    refunds = (Interaction.select()
               .where((Interaction.type == "refund") & (Interaction.customer >= first_customer)
                      & (Interaction.customer <= last_customer) & ~fn.EXISTS(reversed_))
               .order_by(Interaction.occurred_at, Interaction.id))
    for refund in refunds:
        if earn.reverse_refund(programme, refund, now) is not None:
            result.refunds += 1
