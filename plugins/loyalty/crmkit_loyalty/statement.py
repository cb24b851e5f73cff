"""What a member sees: balance, pending, expiring soon, history, tier and progress."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from crmkit.db import utcnow
from crmkit.pagination import Page, clamp_limit, keyset_page
from crmkit_loyalty import ledger, tiers
from crmkit_loyalty.models import Member, Programme, Redemption, Transaction

EXPIRING_SOON_DAYS = 30


def transaction_dict(t: Transaction) -> dict:
    return {"id": t.id, "kind": t.kind, "points": t.points,
            "qualifying_points": t.qualifying_points, "shortfall": t.shortfall,
            "cause": t.cause, "interaction_id": t.interaction_id, "rule_id": t.rule_id,
            "redemption_id": t.redemption_id, "referral_id": t.referral_id,
            "reverses_id": t.reverses_id, "available_at": t.available_at,
            "expires_at": t.expires_at, "note": t.note, "actor": t.actor,
            "occurred_at": t.occurred_at, "created_at": t.created_at}


def transactions_page(member: Member, params: Mapping, max_page_size: int) -> Page:
    """The member's ledger, newest first, in keyset pages."""
    query = Transaction.select().where(Transaction.member == member)
    if params.get("kind"):
        query = query.where(Transaction.kind.in_(str(params["kind"]).split(",")))
    limit = clamp_limit(params.get("limit"), max_page_size)
    return keyset_page(query, Transaction.id, Transaction.id, True, params.get("cursor"), limit,
                       lambda row: row.id)


def member_dict(member: Member, programme: Programme | None = None) -> dict:
    programme = programme or Programme.get_by_id(member.programme_id)
    tier = member.tier if member.tier_id else None
    return {"id": member.id, "programme_id": member.programme_id, "programme": programme.code,
            "customer_id": member.customer_id, "member_number": member.member_number,
            "referral_code": member.referral_code, "status": member.status,
            "tier": tiers.tier_dict(tier) if tier else None, "tier_since": member.tier_since,
            "tier_kept_until": member.tier_kept_until, "points_balance": member.points_balance,
            "points_owed": member.points_owed, "first_purchase_at": member.first_purchase_at,
            "enrolled_at": member.enrolled_at, "enrolled_via": member.enrolled_via}


def statement(member: Member, now: dt.datetime | None = None,
              soon_days: int = EXPIRING_SOON_DAYS, history_limit: int = 20) -> dict:
    now = now or utcnow()
    programme = Programme.get_by_id(member.programme_id)
    balance = ledger.balance_of(member, now)
    recent = (Transaction.select().where(Transaction.member == member)
              .order_by(Transaction.id.desc()).limit(history_limit))
    open_vouchers = (Redemption.select().where((Redemption.member == member)
                                               & (Redemption.status == "issued")
                                               & (Redemption.expires_at.is_null()
                                                  | (Redemption.expires_at > now)))
                     .order_by(Redemption.issued_at))
    return {
        "member": member_dict(member, programme),
        "points_name": programme.points_name,
        "as_of": now,
        "balance": balance.balance,
        "available": balance.available,
        "pending": balance.pending,
        "lapsed": balance.lapsed,
        "owed": balance.owed,
        "pending_until": ledger.pending_releases(member.id, now),
        "expiring_soon": ledger.expiring(member.id, now, now + dt.timedelta(days=soon_days)),
        "tier": tiers.progress(programme, member, now),
        "history": [transaction_dict(t) for t in recent],
        "open_vouchers": [{"id": r.id, "voucher_code": r.voucher_code, "reward_id": r.reward_id,
                           "points": r.points, "expires_at": r.expires_at}
                          for r in open_vouchers],
    }
