"""Loyalty's part in the kernel's customer hooks: the profile section, benefits for other plugins,
segment fields, personal-data export and erasure, and merging two customers' memberships."""
from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from peewee import JOIN, Value

from crmkit.db import utcnow
from crmkit_loyalty import ledger, tiers
from crmkit_loyalty.models import (Lot, Member, Programme, Redemption, Referral, Tier, TierChange,
                                   Transaction)
from crmkit_loyalty.statement import member_dict, transaction_dict


def memberships(customer_id: int) -> list[Member]:
    return list(Member.select().where((Member.customer_id == customer_id)
                                      & (Member.status == "active")).order_by(Member.id))


def profile_section(customer: Any) -> dict | None:
    found = memberships(customer.id)
    if not found:
        return None
    now = utcnow()
    out = []
    for member in found:
        programme = Programme.get_by_id(member.programme_id)
        balance = ledger.balance_of(member, now)
        soon = ledger.expiring(member.id, now, now + dt.timedelta(days=90))
        tier = Tier.get_or_none(Tier.id == member.tier_id) if member.tier_id else None
        out.append({
            "programme": programme.code, "programme_name": programme.name,
            "member_id": member.id, "member_number": member.member_number,
            "tier": tier.name if tier else None, "tier_kept_until": member.tier_kept_until,
            "points_name": programme.points_name, "balance": balance.balance,
            "available": balance.available, "pending": balance.pending,
            "next_expiry": soon[0] if soon else None,
            "open_vouchers": Redemption.select().where(
                (Redemption.member == member) & (Redemption.status == "issued")).count()})
    return {"memberships": out}


def benefits(customer: Any, context: dict) -> list[dict]:
    """Tier discounts and perks of the customer's memberships, as ``customer_benefits`` wants."""
    out = []
    rows = (Member.select(Member, Tier, Programme).join(Tier)
            .switch(Member).join(Programme)
            .where((Member.customer_id == customer.id) & (Member.status == "active")
                   & (Programme.active == True)))  # noqa: E712
    for member in rows:
        tier, programme = member.tier, member.programme
        label = f"{programme.name} {tier.name}"
        if tier.discount_percent and tier.discount_percent > 0:
            out.append({"kind": "discount_percent",
                        "value": decimal.Decimal(tier.discount_percent),
                        "label": f"{label}: {tier.discount_percent.normalize():f}% off",
                        "programme": programme.code, "tier": tier.name})
        for perk in tier.perks or []:
            out.append({"kind": "perk", "value": perk, "label": f"{label}: {perk}",
                        "programme": programme.code, "tier": tier.name})
    return out


def segment_fields() -> list[dict]:
    """Per programme: tier, tier rank, balance and membership, each a (customer_id, value) query
    a segment can join to customers (set-based, one row per customer)."""
    out = []
    for programme in Programme.select().order_by(Programme.id):
        def members(*columns, programme_id=programme.id):
            return (Member.select(Member.customer_id.alias("customer_id"), *columns)
                    .where((Member.programme == programme_id) & (Member.status == "active")))

        def tier_name(programme_id=programme.id):
            return (members(Tier.name.alias("value"), programme_id=programme_id)
                    .join(Tier, JOIN.LEFT_OUTER, on=(Tier.id == Member.tier)))

        def tier_rank(programme_id=programme.id):
            return (members(Tier.rank.alias("value"), programme_id=programme_id)
                    .join(Tier, JOIN.LEFT_OUTER, on=(Tier.id == Member.tier)))

        def balance(programme_id=programme.id):
            return members(Member.points_balance.alias("value"), programme_id=programme_id)

        def member(programme_id=programme.id):
            return members(Value(True).alias("value"), programme_id=programme_id)

        names = [t.name for t in Tier.select(Tier.name).where(Tier.programme == programme)
                 .order_by(Tier.rank)]
        prefix, title = f"loyalty.{programme.code}", programme.name
        out += [
            {"name": f"{prefix}.tier", "type": "string", "label": f"{title}: tier",
             "choices": names, "values": tier_name},
            {"name": f"{prefix}.tier_rank", "type": "integer",
             "label": f"{title}: tier rank (0 = entry)", "values": tier_rank},
            {"name": f"{prefix}.points_balance", "type": "integer",
             "label": f"{title}: {programme.points_name} balance", "values": balance},
            {"name": f"{prefix}.member", "type": "boolean", "label": f"{title}: member",
             "values": member},
        ]
    return out


def export(customer: Any) -> dict | None:
    found = list(Member.select().where(Member.customer_id == customer.id).order_by(Member.id))
    if not found:
        return None
    out = []
    for member in found:
        from crmkit_loyalty.referrals import referral_dict, referrals_of
        from crmkit_loyalty.rewards import redemption_dict
        out.append({
            "membership": member_dict(member),
            "transactions": [transaction_dict(t) for t in Transaction.select()
                             .where(Transaction.member == member).order_by(Transaction.id)],
            "redemptions": [redemption_dict(r) for r in Redemption.select()
                            .where(Redemption.member == member).order_by(Redemption.id)],
            "tier_history": tiers.history(member),
            "referrals_made": [referral_dict(r) for r in referrals_of(member)],
        })
    referred = [r.id for r in Referral.select().where(Referral.referred_customer_id == customer.id)]
    return {"memberships": out, "referred_by_referrals": referred}


def erase(customer: Any, pseudonym: str) -> None:
    """Close the person's memberships and drop what identifies them (the referral code, free-text
    notes); balances, the ledger and vouchers stay as financial records."""
    ids = Member.select(Member.id).where(Member.customer_id == customer.id)
    Member.update(referral_code=None, status="erased", updated_at=utcnow()).where(
        Member.customer_id == customer.id).execute()
    Transaction.update(note=f"[erased: {pseudonym}]").where(
        Transaction.member.in_(ids) & Transaction.note.is_null(False)).execute()


def merge(survivor: Any, merged: Any) -> None:
    """Fold the merged customer's memberships into the survivor's: a programme only the merged
    customer belongs to moves over; where both belong, the ledger, lots, vouchers, tier history
    and referrals move to the survivor's member and the balances add up."""
    for member in Member.select().where(Member.customer_id == merged.id).order_by(Member.id):
        keeper = Member.get_or_none((Member.programme == member.programme_id)
                                    & (Member.customer_id == survivor.id))
        if keeper is None:
            Member.update(customer_id=survivor.id, updated_at=utcnow()).where(
                Member.id == member.id).execute()
            continue
        _combine(keeper.id, member.id)
    Referral.update(referred_customer_id=survivor.id).where(
        (Referral.referred_customer_id == merged.id)
        & ~Referral.programme.in_(Referral.select(Referral.programme)
                                  .where(Referral.referred_customer_id == survivor.id))).execute()


def _combine(keeper_id: int, gone_id: int) -> None:
    first, second = sorted((keeper_id, gone_id))  # lock in id order: no deadlocks
    ledger.lock_member(first)
    ledger.lock_member(second)
    keeper, gone = Member.get_by_id(keeper_id), Member.get_by_id(gone_id)
    for model in (Transaction, Lot, Redemption, TierChange):
        model.update(member=keeper_id).where(model.member == gone_id).execute()
    Referral.update(referrer=keeper_id).where(Referral.referrer == gone_id).execute()
    Referral.update(referred_member=keeper_id).where(Referral.referred_member == gone_id).execute()
    best = _better_tier(keeper, gone)
    firsts = [t for t in (keeper.first_purchase_at, gone.first_purchase_at) if t is not None]
    (Member.update({Member.points_balance: Member.points_balance + gone.points_balance,
                    Member.points_owed: Member.points_owed + gone.points_owed,
                    Member.tier: best.tier_id, Member.tier_since: best.tier_since,
                    Member.tier_kept_until: best.tier_kept_until,
                    Member.first_purchase_at: min(firsts) if firsts else None,
                    Member.updated_at: utcnow()})
     .where(Member.id == keeper_id).execute())
    (Member.update({Member.points_balance: Member.points_balance - gone.points_balance,
                    Member.points_owed: 0, Member.status: "merged", Member.merged_into: keeper_id,
                    Member.referral_code: None, Member.updated_at: utcnow()})
     .where((Member.id == gone_id) & (Member.points_balance - gone.points_balance >= 0))
     .execute())


def _better_tier(a: Member, b: Member) -> Member:
    ranks = {t.id: t.rank for t in Tier.select().where(Tier.id.in_(
        [x for x in (a.tier_id, b.tier_id) if x is not None]))}
    return a if ranks.get(a.tier_id, -1) >= ranks.get(b.tier_id, -1) else b


__all__ = ["benefits", "erase", "export", "merge", "profile_section", "segment_fields"]
