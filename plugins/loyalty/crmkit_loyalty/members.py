"""Members: enrolment (by request or on a first purchase), numbers, lookups and lists."""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping

import peewee

from crmkit.customers.service import get_customer
from crmkit.db import is_sqlite, utcnow
from crmkit.errors import Conflict, NotFound
from crmkit.events import emit
from crmkit.pagination import Page, clamp_limit, keyset_page
from crmkit_loyalty.models import Member, Programme, TierChange
from crmkit_loyalty.programmes import entry_tier

# No 0/O, 1/I/L: codes are read aloud and typed from a phone screen.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CODE_LENGTH = 8


def member_number(programme: Programme, member_id: int) -> str:
    return f"{programme.member_prefix}{member_id:09d}"


def member_number_sql(prefix: str):
    """The same number as :func:`member_number`, computed by the database for bulk enrolment."""
    if is_sqlite():
        return peewee.fn.printf(f"{prefix.replace('%', '%%')}%09d", Member.id)
    return peewee.SQL("%s || lpad(CAST(id AS text), 9, '0')", (prefix,))


def get_member(member_id: int) -> Member:
    member = Member.get_or_none(Member.id == member_id)
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    return member


def find_member(programme: Programme, customer_id: int) -> Member | None:
    return Member.get_or_none((Member.programme == programme)
                              & (Member.customer_id == customer_id))


def member_by_number(number: str) -> Member:
    member = Member.get_or_none(Member.member_number == number)
    if member is None:
        raise NotFound(f"No member with number {number!r}.")
    return member


def enrol(programme: Programme, customer_id: int, via: str = "api",
          now: dt.datetime | None = None) -> tuple[Member, bool]:
    """The customer's membership, created if needed; ``(member, created)``.

    Safe against a concurrent enrolment of the same customer (two first purchases at once): the
    unique (programme, customer) index decides, and the loser reads the winner's row.
    """
    now = now or utcnow()
    existing = find_member(programme, customer_id)
    if existing is not None:
        return existing, False
    get_customer(customer_id)  # 404 for unknown or merged-away customers
    tier = entry_tier(programme)
    Member.insert(programme=programme, customer_id=customer_id, enrolled_at=now,
                  enrolled_via=via, updated_at=now, tier=tier,
                  tier_since=now if tier else None).on_conflict_ignore().execute()
    member = find_member(programme, customer_id)
    created = member.member_number is None  # a row someone else created has its number already
    if created:
        member.member_number = member_number(programme, member.id)
        Member.update(member_number=member.member_number).where(Member.id == member.id).execute()
        if tier is not None:
            TierChange.create(member=member, from_tier=None, to_tier=tier, reason="enrolment",
                              changed_at=now)
        emit("loyalty.member.enrolled", {
            "member_id": member.id, "programme": programme.code, "customer_id": customer_id,
            "member_number": member.member_number, "via": via,
            "tier": tier.name if tier else None}, subject="customer", subject_id=customer_id)
    return member, created


def enrol_by_request(programme: Programme, customer_id: int) -> Member:
    member, created = enrol(programme, customer_id, via="api")
    if not created:
        raise Conflict(f"Customer {customer_id} is already member {member.member_number} of "
                       f"{programme.code!r}.", extra={"member_id": member.id})
    return member


def referral_code(member: Member) -> str:
    """The member's code for referring friends, made on first request."""
    if member.referral_code:
        return member.referral_code
    for _ in range(10):
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
        try:
            with Member._meta.database.atomic():
                changed = (Member.update(referral_code=code)
                           .where((Member.id == member.id) & Member.referral_code.is_null())
                           .execute())
        except peewee.IntegrityError:
            continue  # taken by another member: draw again
        if not changed:  # someone gave this member a code meanwhile
            member.referral_code = Member.get_by_id(member.id).referral_code
            return member.referral_code
        member.referral_code = code
        return code
    raise RuntimeError("could not draw a free referral code")


LIST_FILTERS = ("customer_id", "tier_id", "status")


def list_members(programme: Programme, params: Mapping, max_page_size: int,
                 visible_customers=None) -> Page:
    """Members by id; ``visible_customers`` (a query of customer ids) limits them to customers
    the caller may see."""
    query = Member.select().where(Member.programme == programme)
    for name in LIST_FILTERS:
        if params.get(name) is not None:
            query = query.where(getattr(Member, name) == params[name])
    if params.get("number"):
        query = query.where(Member.member_number == params["number"])
    if visible_customers is not None:
        query = query.where(Member.customer_id.in_(visible_customers))
    limit = clamp_limit(params.get("limit"), max_page_size)
    return keyset_page(query, Member.id, Member.id, False, params.get("cursor"), limit,
                       lambda row: row.id)


def adjust_points(member_id: int, points: int, reason: str, actor: str | None = None,
                  now: dt.datetime | None = None):
    """A manual correction with its reason: positive adds points (expiring by the programme's
    policy), negative takes them, pending ones included; never below zero."""
    from crmkit_loyalty import ledger
    from crmkit_loyalty.programmes import expires_at_for
    now = now or utcnow()
    member = ledger.lock_member(get_member(member_id).id)
    if member.status != "active":
        raise Conflict(f"Member {member.member_number} is {member.status}.")
    programme = Programme.get_by_id(member.programme_id)
    refs = {"note": reason, "actor": actor}
    if points > 0:
        tx = ledger.credit(member, points, kind="adjust", cause="adjustment", now=now,
                           expires_at=expires_at_for(programme, now), **refs)
    else:
        plan = ledger.plan_debit(member.id, -points, now, include_pending=True)
        if sum(p for _, p in plan) < -points:
            raise ledger.InsufficientPoints(member, -points, ledger.balance_of(member, now),
                                            "This adjustment")
        tx = ledger.debit_plan(member, plan, kind="adjust", cause="adjustment", now=now, **refs)
    emit("loyalty.points.adjusted", {"member_id": member.id, "points": points, "reason": reason,
                                     "transaction_id": tx.id},
         subject="customer", subject_id=member.customer_id)
    return tx
