"""The points ledger: credits, debits, expiry and what a member can spend.

Every movement is one append-only :class:`Transaction`. A credit opens a :class:`Lot`; a debit takes
from lots, soonest-expiring first, and records what it took in :class:`Allocation`. The member's
cached ``points_balance`` changes in the same database transaction by a conditional UPDATE, so it
always equals the ledger's sum and can never go below zero.

Callers lock the member first (:func:`lock_member`): on PostgreSQL a row lock, on SQLite the write
transaction already holds the database. Everything that changes a member's lots or balance does
so under that lock, so a debit's plan (which lots, how much) cannot be invalidated before it is
written; the conditional UPDATEs are the second line of defence.

Lock order on PostgreSQL, in every loyalty path: a reward's stock, then each member's customer
held against merges (``crmkit.customers.service.hold_customers``, as a merge and recording an
interaction lock the customer before any plugin rows), then members in id order. The event
feed's turn comes last, at commit, when the queued events are written (``crmkit.events.emit``);
no loyalty path takes it early, so none waits for a member while holding the turn.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN, Case, fn

from crmkit.customers.service import hold_customers
from crmkit.db import is_sqlite, utcnow
from crmkit.errors import Conflict, NotFound
from crmkit_loyalty.models import Allocation, Lot, Member, Programme, Transaction


class InsufficientPoints(Conflict):
    """409 naming what the member has and what was asked for."""

    def __init__(self, member: Member, needed: int, balance: Balance, what: str = "This"):
        super().__init__(
            f"Not enough points: {what} needs {needed} and member {member.member_number} has "
            f"{balance.available} available (balance {balance.balance}, {balance.pending} "
            f"pending, {balance.lapsed} expired).",
            extra={"needed": needed, "balance": balance.balance, "available": balance.available,
                   "pending": balance.pending})


class LedgerCorrupt(RuntimeError):
    """A conditional update found the state its plan was made on gone: a bug, never user input."""


@dataclass(frozen=True)
class Balance:
    balance: int    # the ledger's sum
    available: int  # spendable now
    pending: int    # earned, still inside the return window
    lapsed: int     # past its expiry date; the expiry job will write it off
    owed: int = 0   # reversed after it was spent; taken from the next earnings


def lock_member(member_id: int) -> Member:
    """The member row, locked for the rest of the transaction (see the module docstring)."""
    if is_sqlite():
        member = Member.get_or_none(Member.id == member_id)
    else:
        held = set()
        for _ in range(5):  # a merge re-pointing the member meanwhile: hold its new customer
            customer_id = (Member.select(Member.customer_id).where(Member.id == member_id)
                           .scalar())
            if customer_id is None or customer_id in held:
                break
            hold_customers(customer_id)
            held.add(customer_id)
        member = Member.select().where(Member.id == member_id).for_update().first()
        if member is not None and member.customer_id not in held:
            raise Conflict("The member's customer is being merged; try again.")
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    return member


def _change_balance(member_id: int, delta: int, now: dt.datetime) -> None:
    if delta == 0:
        return
    changed = (Member.update(points_balance=Member.points_balance + delta, updated_at=now)
               .where((Member.id == member_id) & (Member.points_balance + delta >= 0))
               .execute())
    if changed != 1:
        raise LedgerCorrupt(f"balance of member {member_id} cannot change by {delta}")


def _take(lot_id: int, points: int) -> None:
    changed = (Lot.update(remaining=Lot.remaining - points)
               .where((Lot.transaction == lot_id) & (Lot.remaining - points >= 0)).execute())
    if changed != 1:
        raise LedgerCorrupt(f"lot {lot_id} cannot give {points} points")


def exists(dedupe_key: str) -> bool:
    return Transaction.select().where(Transaction.dedupe_key == dedupe_key).exists()


def credit(member: Member, points: int, *, kind: str, cause: str, now: dt.datetime | None = None,
           occurred_at: dt.datetime | None = None, available_at: dt.datetime | None = None,
           expires_at: dt.datetime | None = None, qualifying: int = 0,
           dedupe_key: str | None = None, pay_owed: bool = True, **refs) -> Transaction | None:
    """Add ``points`` (> 0) to a locked member: a ledger row, a lot, the balance.

    Returns None, changing nothing, when ``dedupe_key`` was credited before. ``refs`` are the
    cause's ids (interaction_id, rule_id, redemption_id, referral_id, reverses, note, actor).
    """
    if points <= 0:
        raise ValueError(f"a credit needs positive points, got {points}")
    now = now or utcnow()
    if dedupe_key is not None and exists(dedupe_key):
        return None
    available_at = available_at or now
    tx = Transaction.create(programme=member.programme_id, member=member.id, kind=kind,
                            points=points, qualifying_points=qualifying, cause=cause,
                            available_at=available_at, expires_at=expires_at,
                            dedupe_key=dedupe_key, occurred_at=occurred_at or now,
                            created_at=now, **refs)
    Lot.insert(transaction=tx.id, member=member.id, remaining=points, available_at=available_at,
               expires_at=expires_at).execute()
    _change_balance(member.id, points, now)
    if pay_owed and member.points_owed > 0:
        settle_owed(member, now, prefer=[tx.id])
    return tx


def settle_owed(member: Member, now: dt.datetime, prefer: list[int] = ()) -> Transaction | None:
    """Take points owed by earlier refunds out of the balance (pending points included), the
    lots in ``prefer`` (a fresh credit) first, before anything else can spend them."""
    if member.points_owed <= 0:
        return None
    plan = plan_debit(member.id, member.points_owed, now, include_pending=True, prefer=prefer)
    repay = sum(p for _, p in plan)
    if repay <= 0:
        return None
    tx = _debit_lots(member, plan, kind="reverse", cause="owed", now=now, occurred_at=now)
    changed = (Member.update(points_owed=Member.points_owed - repay)
               .where((Member.id == member.id) & (Member.points_owed >= repay)).execute())
    if changed != 1:
        raise LedgerCorrupt(f"owed points of member {member.id} cannot drop by {repay}")
    member.points_owed -= repay
    return tx


def _not_lapsed(now: dt.datetime):
    return Lot.expires_at.is_null() | (Lot.expires_at > now)


def spendable_condition(now: dt.datetime):
    return (Lot.remaining > 0) & (Lot.available_at <= now) & _not_lapsed(now)


def _soonest_expiring_first():
    # Lots that never expire go last; then the oldest first among equals.
    return (Case(None, [(Lot.expires_at.is_null(), 1)], 0), Lot.expires_at, Lot.available_at,
            Lot.transaction)


def plan_debit(member_id: int, points: int, now: dt.datetime, *, include_pending: bool = False,
               prefer: list[int] = ()) -> list[tuple[int, int]]:
    """(lot id, points) pairs covering as much of ``points`` as the member's lots allow.

    Lots in ``prefer`` go first (a refund takes back its own purchase's points first); then
    spendable lots soonest-expiring first; pending lots only with ``include_pending``.
    Lots past their expiry date are never taken: expired points are never spent.
    """
    condition = (Lot.member == member_id) & (Lot.remaining > 0) & _not_lapsed(now)
    if not include_pending:
        condition &= Lot.available_at <= now
    lots = list(Lot.select(Lot.transaction, Lot.remaining).where(condition)
                .order_by(*_soonest_expiring_first()).tuples())
    if prefer:
        first = set(prefer)
        lots = [lot for lot in lots if lot[0] in first] + [lot for lot in lots
                                                            if lot[0] not in first]
    plan, left = [], points
    for lot_id, remaining in lots:
        if left <= 0:
            break
        take = min(left, remaining)
        plan.append((lot_id, take))
        left -= take
    return plan


def _debit_lots(member: Member, plan: list[tuple[int, int]], *, kind: str, cause: str,
                now: dt.datetime, occurred_at: dt.datetime, qualifying: int = 0,
                dedupe_key: str | None = None, refs: dict | None = None) -> Transaction:
    taken = sum(points for _, points in plan)
    tx = Transaction.create(programme=member.programme_id, member=member.id, kind=kind,
                            points=-taken, qualifying_points=qualifying, cause=cause,
                            dedupe_key=dedupe_key, occurred_at=occurred_at, created_at=now,
                            **(refs or {}))
    for lot_id, points in plan:
        _take(lot_id, points)
    if plan:
        Allocation.insert_many([{"transaction": tx.id, "lot": lot_id, "points": points}
                                for lot_id, points in plan]).execute()
    _change_balance(member.id, -taken, now)
    return tx


def debit_plan(member: Member, plan: list[tuple[int, int]], *, kind: str, cause: str,
               now: dt.datetime, **refs) -> Transaction:
    """Write a debit taking exactly ``plan`` (from :func:`plan_debit`) from a locked member."""
    return _debit_lots(member, plan, kind=kind, cause=cause, now=now, occurred_at=now, refs=refs)


def debit(member: Member, points: int, *, kind: str, cause: str, now: dt.datetime | None = None,
          occurred_at: dt.datetime | None = None, what: str = "This", **refs) -> Transaction:
    """Spend ``points`` (> 0) of a locked member's spendable points, soonest-expiring first;
    :class:`InsufficientPoints` (409) when they do not cover it."""
    if points <= 0:
        raise ValueError(f"a debit needs positive points, got {points}")
    now = now or utcnow()
    plan = plan_debit(member.id, points, now)
    if sum(p for _, p in plan) < points:
        raise InsufficientPoints(member, points, balance_of(member, now), what)
    return _debit_lots(member, plan, kind=kind, cause=cause, now=now,
                       occurred_at=occurred_at or now, refs=refs)


def claw_back(member: Member, points: int, *, cause: str, now: dt.datetime,
              occurred_at: dt.datetime, prefer: list[int], qualifying: int = 0,
              dedupe_key: str | None = None, **refs) -> Transaction | None:
    """Reverse up to ``points`` earned earlier (a refund): from ``prefer`` lots first, then any
    lot, pending ones included. What the balance cannot cover is owed and taken from the next
    earnings, so the balance never goes negative and a refund cannot keep spent points."""
    if dedupe_key is not None and exists(dedupe_key):
        return None
    plan = plan_debit(member.id, points, now, include_pending=True, prefer=prefer) \
        if points > 0 else []
    short = points - sum(p for _, p in plan)
    tx = _debit_lots(member, plan, kind="reverse", cause=cause, now=now, occurred_at=occurred_at,
                     qualifying=qualifying, dedupe_key=dedupe_key,
                     refs={**refs, "shortfall": max(short, 0)})
    if short > 0:
        Member.update(points_owed=Member.points_owed + short).where(
            Member.id == member.id).execute()
        member.points_owed += short
    return tx


def restore(member: Member, debit_tx: Transaction, *, cause: str, now: dt.datetime,
            **refs) -> Transaction:
    """Give back what ``debit_tx`` took, to the very lots it took from (a cancelled redemption).
    Points whose lot has lapsed meanwhile come back lapsed and the expiry job writes them off."""
    taken = list(Allocation.select(Allocation.lot, fn.SUM(Allocation.points))
                 .where(Allocation.transaction == debit_tx.id)
                 .group_by(Allocation.lot).tuples())
    points = sum(p for _, p in taken)
    tx = Transaction.create(programme=member.programme_id, member=member.id, kind="reverse",
                            points=points, cause=cause, reverses=debit_tx.id, occurred_at=now,
                            created_at=now, dedupe_key=f"restore:{debit_tx.id}", **refs)
    for lot_id, lot_points in taken:
        (Lot.update(remaining=Lot.remaining + lot_points)
         .where(Lot.transaction == lot_id).execute())
    if taken:
        Allocation.insert_many([{"transaction": tx.id, "lot": lot_id, "points": -p}
                                for lot_id, p in taken]).execute()
    _change_balance(member.id, points, now)
    return tx


def expire_member(member: Member, now: dt.datetime | None = None) -> Transaction | None:
    """Write off a locked member's lots that are past their expiry date: one expire row."""
    now = now or utcnow()
    plan = list(Lot.select(Lot.transaction, Lot.remaining)
                .where((Lot.member == member.id) & (Lot.remaining > 0)
                       & Lot.expires_at.is_null(False) & (Lot.expires_at <= now))
                .order_by(Lot.expires_at, Lot.transaction).tuples())
    if not plan:
        return None
    return _debit_lots(member, plan, kind="expire", cause="expiry", now=now, occurred_at=now)


def members_with_lapsed_points(now: dt.datetime, after_id: int = 0, limit: int = 500) -> list[int]:
    return [row[0] for row in
            Lot.select(Lot.member).distinct()
            .where(Lot.expires_at.is_null(False) & (Lot.expires_at <= now) & (Lot.remaining > 0)
                   & (Lot.member > after_id))
            .order_by(Lot.member).limit(limit).tuples()]


def balance_of(member: Member, now: dt.datetime | None = None) -> Balance:
    """Balance, available, pending and lapsed points of a member, in one query."""
    now = now or utcnow()
    lapsed = Lot.expires_at.is_null(False) & (Lot.expires_at <= now)
    pending = (Lot.available_at > now) & ~lapsed
    row = (Lot.select(fn.COALESCE(fn.SUM(Lot.remaining), 0),
                      fn.COALESCE(fn.SUM(Case(None, [(pending, Lot.remaining)], 0)), 0),
                      fn.COALESCE(fn.SUM(Case(None, [(lapsed, Lot.remaining)], 0)), 0))
           .where((Lot.member == member.id) & (Lot.remaining > 0)).tuples().first())
    total, pending_points, lapsed_points = (int(v) for v in row)
    balance = int(member.points_balance)
    return Balance(balance=balance, available=max(0, total - pending_points - lapsed_points),
                   pending=pending_points, lapsed=lapsed_points, owed=int(member.points_owed))


def expiring(member_id: int, now: dt.datetime, until: dt.datetime) -> list[dict]:
    """Points that will lapse between now and ``until``, by date."""
    day = fn.DATE(Lot.expires_at)
    rows = (Lot.select(day.alias("day"), fn.SUM(Lot.remaining))
            .where((Lot.member == member_id) & (Lot.remaining > 0) & (Lot.expires_at > now)
                   & (Lot.expires_at <= until))
            .group_by(day).order_by(day).tuples())
    return [{"date": _as_date(d), "points": int(p)} for d, p in rows]


def pending_releases(member_id: int, now: dt.datetime) -> list[dict]:
    """Pending points by the date they become spendable."""
    day = fn.DATE(Lot.available_at)
    rows = (Lot.select(day.alias("day"), fn.SUM(Lot.remaining))
            .where((Lot.member == member_id) & (Lot.remaining > 0) & (Lot.available_at > now)
                   & _not_lapsed(now))
            .group_by(day).order_by(day).tuples())
    return [{"date": _as_date(d), "points": int(p)} for d, p in rows]


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def ledger_sum(member_id: int) -> int:
    return int(Transaction.select(fn.COALESCE(fn.SUM(Transaction.points), 0))
               .where(Transaction.member == member_id).scalar())


def check_member(member_id: int) -> list[str]:
    """What is wrong with a member's books (empty when they agree); tests and `crmkit loyalty
    check` use it."""
    member = Member.get_by_id(member_id)
    problems = []
    total = ledger_sum(member_id)
    lots = int(Lot.select(fn.COALESCE(fn.SUM(Lot.remaining), 0))
               .where(Lot.member == member_id).scalar())
    if member.points_balance != total:
        problems.append(f"cached balance {member.points_balance} != ledger sum {total}")
    if lots != total:
        problems.append(f"lots hold {lots} != ledger sum {total}")
    if member.points_balance < 0 or member.points_owed < 0:
        problems.append("negative balance or owed points")
    bad_lots = (Lot.select(Lot.transaction)
                .join(Transaction, on=(Transaction.id == Lot.transaction))
                .switch(Lot).join(Allocation, JOIN.LEFT_OUTER, on=(Allocation.lot == Lot.transaction))
                .where(Lot.member == member_id)
                .group_by(Lot.transaction, Transaction.points, Lot.remaining)
                .having(Transaction.points - fn.COALESCE(fn.SUM(Allocation.points), 0)
                        != Lot.remaining))
    problems += [f"lot {row.transaction_id} disagrees with its allocations" for row in bad_lots]
    return problems


def programme_of(member: Member) -> Programme:
    return Programme.get_by_id(member.programme_id)


__all__ = ["Balance", "InsufficientPoints", "LedgerCorrupt", "balance_of", "check_member",
           "claw_back", "credit", "debit", "debit_plan", "expire_member", "expiring", "ledger_sum",
           "lock_member", "pending_releases", "plan_debit", "restore"]
