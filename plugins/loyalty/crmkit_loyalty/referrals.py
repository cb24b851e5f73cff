"""Referrals: a member's code brings in a new customer; both are rewarded when the newcomer's
first purchase lands. Nobody refers themselves, nobody is referred twice, and no chain of
referrals may loop back (A refers B, B refers A)."""
from __future__ import annotations

import datetime as dt

from crmkit.customers.models import Interaction
from crmkit.db import utcnow
from crmkit.errors import Conflict, NotFound, ValidationError
from crmkit.events import emit
from crmkit_loyalty import ledger
from crmkit_loyalty.members import enrol
from crmkit_loyalty.models import Member, Programme, Referral, Transaction
from crmkit_loyalty.programmes import available_at_for, expires_at_for

MAX_CHAIN = 10_000  # a bound on walking referrer chains; real chains are short


def _chain_reaches(start_customer_id: int, target_customer_id: int, programme: Programme) -> bool:
    """True when ``target`` referred ``start`` directly or through others."""
    current, seen = start_customer_id, set()
    for _ in range(MAX_CHAIN):
        if current in seen:
            return False
        seen.add(current)
        row = (Referral.select(Member.customer_id).join(Member, on=(Member.id == Referral.referrer))
               .where((Referral.programme == programme)
                      & (Referral.referred_customer_id == current)).tuples().first())
        if row is None:
            return False
        current = row[0]
        if current == target_customer_id:
            return True
    return False


def refer(programme: Programme, code: str, customer_id: int,
          now: dt.datetime | None = None) -> Referral:
    """Record that the member with ``code`` referred ``customer_id`` (who is enrolled now)."""
    now = now or utcnow()
    referrer = Member.get_or_none((Member.referral_code == (code or "").strip().upper())
                                  & (Member.programme == programme))
    if referrer is None or referrer.status != "active":
        raise ValidationError({"code": f"No member of {programme.code!r} has this referral code."})
    if referrer.customer_id == customer_id:
        raise ValidationError({"customer_id": "A member cannot refer themselves."})
    if _chain_reaches(referrer.customer_id, customer_id, programme):
        raise ValidationError({"customer_id": (
            f"Customer {customer_id} referred this member (directly or through others); "
            "referrals cannot go round in a loop.")})
    if Referral.select().where((Referral.programme == programme)
                               & (Referral.referred_customer_id == customer_id)).exists():
        raise Conflict(f"Customer {customer_id} has been referred to {programme.code!r} already.")
    bought = Interaction.select().where((Interaction.customer == customer_id)
                                        & (Interaction.type == "purchase")).exists()
    if bought:
        raise Conflict(f"Customer {customer_id} has bought before; referrals are for new "
                       "customers.")
    member, _ = enrol(programme, customer_id, via="referral", now=now)
    referral = Referral.create(programme=programme, referrer=referrer, referred_member=member,
                               referred_customer_id=customer_id, created_at=now)
    emit("loyalty.referral.recorded", {
        "referral_id": referral.id, "programme": programme.code,
        "referrer_member_id": referrer.id, "referred_customer_id": customer_id},
        subject="customer", subject_id=customer_id)
    return referral


def reward_referral(programme: Programme, member: Member, purchase: Interaction,
                    now: dt.datetime) -> list[Transaction]:
    """Reward both sides of the pending referral of ``member`` (locked by the caller), if any;
    called once, on the member's first purchase."""
    referral = Referral.get_or_none((Referral.programme == programme)
                                    & (Referral.referred_customer_id == member.customer_id)
                                    & (Referral.status == "pending"))
    if referral is None:
        return []
    claimed = (Referral.update(status="rewarded", rewarded_at=now, referred_member=member.id)
               .where((Referral.id == referral.id) & (Referral.status == "pending")).execute())
    if not claimed:
        return []
    credit = {"kind": "earn", "cause": "referral", "now": now, "occurred_at": purchase.occurred_at,
              "available_at": available_at_for(programme, purchase.occurred_at),
              "expires_at": expires_at_for(programme, purchase.occurred_at),
              "referral_id": referral.id, "interaction_id": purchase.id}
    made = []
    if programme.referred_points > 0:
        made.append(ledger.credit(member, programme.referred_points,
                                  dedupe_key=f"referral:{referral.id}:referred", **credit))
    referrer = ledger.lock_member(referral.referrer_id)
    if programme.referrer_points > 0 and referrer.status == "active":
        made.append(ledger.credit(referrer, programme.referrer_points,
                                  dedupe_key=f"referral:{referral.id}:referrer", **credit))
    emit("loyalty.referral.rewarded", {
        "referral_id": referral.id, "programme": programme.code,
        "referrer_member_id": referrer.id, "referred_member_id": member.id,
        "referrer_points": programme.referrer_points,
        "referred_points": programme.referred_points}, subject="customer",
        subject_id=member.customer_id)
    return [tx for tx in made if tx is not None]


def get_referral(referral_id: int) -> Referral:
    referral = Referral.get_or_none(Referral.id == referral_id)
    if referral is None:
        raise NotFound(f"No referral with id {referral_id}.")
    return referral


def referrals_of(member: Member) -> list[Referral]:
    return list(Referral.select().where(Referral.referrer == member).order_by(Referral.id))


def referral_dict(r: Referral) -> dict:
    return {"id": r.id, "programme_id": r.programme_id, "referrer_member_id": r.referrer_id,
            "referred_customer_id": r.referred_customer_id,
            "referred_member_id": r.referred_member_id, "status": r.status,
            "created_at": r.created_at, "rewarded_at": r.rewarded_at}
