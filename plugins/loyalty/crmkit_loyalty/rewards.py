"""The rewards catalogue, redemption and vouchers.

Redeeming is one database transaction: take one unit of stock (conditional UPDATE, so a limited
reward is never oversold), lock the member, write off lapsed points, spend the reward's cost
soonest-expiring first (never more than the balance), and issue an unguessable voucher code.
Validating and consuming the voucher are calls of their own (the till, the event door).

Retried requests are made idempotent by the kernel's ``Idempotency-Key`` mechanism
(:mod:`crmkit.idempotency`): the API's redeem endpoint is a POST, so a retry with the same key
gets the first answer (the same voucher) instead of a second redemption.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping

from crmkit.db import database, utcnow
from crmkit.errors import Conflict, NotFound, ValidationError
from crmkit.events import emit
from crmkit_loyalty import ledger
from crmkit_loyalty.members import get_member
from crmkit_loyalty.models import Member, Programme, Redemption, Reward, Tier, Transaction

_VOUCHER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols: 16 of them hold 79 bits
_VOUCHER_GROUPS = 4
_NOT_CODE = re.compile(r"[\s-]")


def voucher_code() -> str:
    raw = "".join(secrets.choice(_VOUCHER_ALPHABET) for _ in range(4 * _VOUCHER_GROUPS))
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalise_code(code: str) -> str:
    raw = _NOT_CODE.sub("", code or "").upper()
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


# -- catalogue ------------------------------------------------------------------------------------

def _check_reward(programme: Programme, data: Mapping, current: Reward | None) -> None:
    def value(name):
        return data[name] if name in data else getattr(current, name, None)

    kind, errors = value("kind"), {}
    if kind in ("voucher_amount", "voucher_percent") and value("value") is None:
        errors["value"] = f"A {kind} reward needs a value."
    if kind == "voucher_amount" and not value("currency"):
        errors["currency"] = "A voucher of a fixed amount needs a currency."
    if kind == "voucher_percent" and value("value") is not None and value("value") > 100:
        errors["value"] = "A percentage is at most 100."
    if kind == "free_product" and not value("sku"):
        errors["sku"] = "A free product reward names the product's sku."
    tier_id = data.get("min_tier_id")
    if tier_id is not None and not Tier.select().where(
            (Tier.id == tier_id) & (Tier.programme == programme)).exists():
        errors["min_tier_id"] = f"Programme {programme.code!r} has no tier {tier_id}."
    if errors:
        raise ValidationError(errors)


def create_reward(programme: Programme, data: Mapping) -> Reward:
    _check_reward(programme, data, None)
    return Reward.create(programme=programme, **data)


def update_reward(reward: Reward, data: Mapping) -> Reward:
    _check_reward(reward.programme, data, reward)
    for name, value in data.items():
        setattr(reward, name, value)
    reward.updated_at = utcnow()
    reward.save()
    return reward


def get_reward(reward_id: int, programme: Programme | None = None) -> Reward:
    query = Reward.select().where(Reward.id == reward_id)
    if programme is not None:
        query = query.where(Reward.programme == programme)
    reward = query.first()
    if reward is None:
        raise NotFound(f"No reward with id {reward_id}.")
    return reward


def list_rewards(programme: Programme, active: bool | None = None) -> list[Reward]:
    query = Reward.select().where(Reward.programme == programme).order_by(Reward.points_cost,
                                                                          Reward.id)
    if active is not None:
        query = query.where(Reward.active == active)
    return list(query)


def _eligible(member: Member, reward: Reward) -> str | None:
    """Why the member may not have the reward, or None."""
    if reward.programme_id != member.programme_id:
        return "This reward belongs to another programme."
    if not reward.active:
        return f"Reward {reward.name!r} is not available."
    if member.status != "active":
        return f"Member {member.member_number} is {member.status}."
    if reward.min_tier_id is not None:
        needed = Tier.get_or_none(Tier.id == reward.min_tier_id)
        have = Tier.get_or_none(Tier.id == member.tier_id) if member.tier_id else None
        if needed is not None and (have is None or have.rank < needed.rank):
            return (f"Reward {reward.name!r} is for {needed.name} members and above; member "
                    f"{member.member_number} is {have.name if have else 'in no tier'}.")
    return None


# -- redemption -----------------------------------------------------------------------------------

def redeem(member_id: int, reward_id: int, now: dt.datetime | None = None,
           actor: str | None = None) -> Redemption:
    """Spend points on a reward and issue its voucher; 409 without enough points or stock."""
    now = now or utcnow()
    with database.atomic():
        # Lock order everywhere: the reward's stock, then the member.
        member = get_member(member_id)
        reward = get_reward(reward_id)
        refusal = _eligible(member, reward)
        if refusal:
            raise Conflict(refusal)
        if reward.stock is not None:
            took = (Reward.update(stock=Reward.stock - 1)
                    .where((Reward.id == reward.id) & (Reward.stock >= 1)).execute())
            if not took:
                raise Conflict(f"Reward {reward.name!r} is out of stock.", extra={"stock": 0})
        member = ledger.lock_member(member.id)
        ledger.expire_member(member, now)
        redemption = Redemption.create(
            member=member, reward=reward, points=reward.points_cost, voucher_code=voucher_code(),
            issued_at=now, expires_at=(now + dt.timedelta(days=reward.voucher_valid_days)
                                       if reward.voucher_valid_days else None))
        tx = ledger.debit(member, reward.points_cost, kind="redeem", cause="redemption", now=now,
                          redemption_id=redemption.id, actor=actor,
                          what=f"Reward {reward.name!r}")
        Redemption.update(transaction=tx.id).where(Redemption.id == redemption.id).execute()
        redemption.transaction = tx
        emit("loyalty.reward.redeemed", {
            "redemption_id": redemption.id, "member_id": member.id, "reward_id": reward.id,
            "reward": reward.name, "points": reward.points_cost,
            "expires_at": redemption.expires_at}, subject="customer", subject_id=member.customer_id)
        _record_on_timeline(member, reward, redemption, now)
    return redemption


def _record_on_timeline(member: Member, reward: Reward, redemption: Redemption,
                        now: dt.datetime) -> None:
    from flask import has_app_context
    if not has_app_context():
        return  # the timeline's type check needs the app's plugins
    from crmkit.customers.timeline import record_interaction
    programme = Programme.get_by_id(member.programme_id)
    record_interaction(member.customer_id, {
        "type": "loyalty.reward_redeemed", "direction": "inbound", "occurred_at": now,
        "summary": f"Redeemed {reward.name} for {redemption.points} {programme.points_name}",
        "payload": {"redemption_id": redemption.id, "reward_id": reward.id,
                    "points": redemption.points},
        "external_id": f"redemption:{redemption.id}"}, source="loyalty")


def get_redemption(redemption_id: int) -> Redemption:
    redemption = Redemption.get_or_none(Redemption.id == redemption_id)
    if redemption is None:
        raise NotFound(f"No redemption with id {redemption_id}.")
    return redemption


def cancel_redemption(redemption_id: int, now: dt.datetime | None = None) -> Redemption:
    """Cancel an unused voucher: the points go back to the lots they came from, the stock back
    to the reward."""
    now = now or utcnow()
    with database.atomic():
        redemption = get_redemption(redemption_id)
        reward = Reward.get_by_id(redemption.reward_id)
        cancelled = (Redemption.update(status="cancelled", cancelled_at=now)
                     .where((Redemption.id == redemption.id) & (Redemption.status == "issued"))
                     .execute())
        if not cancelled:
            raise Conflict(f"Redemption {redemption.id} is {redemption.status}; only an issued "
                           "voucher can be cancelled.")
        if reward.stock is not None:
            Reward.update(stock=Reward.stock + 1).where(Reward.id == reward.id).execute()
        member = ledger.lock_member(redemption.member_id)
        debit_tx = Transaction.get_by_id(redemption.transaction_id)
        ledger.restore(member, debit_tx, cause="redemption_cancelled", now=now,
                       redemption_id=redemption.id)
        emit("loyalty.reward.cancelled", {"redemption_id": redemption.id,
                                          "member_id": member.id, "points": redemption.points},
             subject="customer", subject_id=member.customer_id)
    return get_redemption(redemption.id)


# -- vouchers -------------------------------------------------------------------------------------

def _voucher(code: str) -> Redemption:
    redemption = Redemption.get_or_none(Redemption.voucher_code == normalise_code(code))
    if redemption is None:
        raise NotFound("No voucher with this code.")
    return redemption


def voucher_state(redemption: Redemption, now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    if redemption.status == "issued" and redemption.expires_at is not None \
            and redemption.expires_at <= now:
        return "expired"
    return redemption.status


def check_voucher(code: str, now: dt.datetime | None = None) -> dict:
    """What a voucher is worth and whether it can be used now; changes nothing."""
    redemption = _voucher(code)
    state = voucher_state(redemption, now)
    return {**redemption_dict(redemption, now), "valid": state == "issued"}


def consume_voucher(code: str, reference: str | None = None,
                    now: dt.datetime | None = None) -> Redemption:
    """Use a voucher once; a second use, a cancelled or an expired voucher is a 409."""
    now = now or utcnow()
    redemption = _voucher(code)
    used = (Redemption.update(status="consumed", consumed_at=now, consumed_reference=reference)
            .where((Redemption.id == redemption.id) & (Redemption.status == "issued")
                   & (Redemption.expires_at.is_null() | (Redemption.expires_at > now)))
            .execute())
    if not used:
        redemption = get_redemption(redemption.id)
        state = voucher_state(redemption, now)
        when = {"consumed": redemption.consumed_at, "cancelled": redemption.cancelled_at,
                "expired": redemption.expires_at}.get(state)
        raise Conflict(f"This voucher is {state}" + (f" (since {when.isoformat()})." if when
                                                     else "."), extra={"state": state})
    member = Member.get_by_id(redemption.member_id)
    emit("loyalty.voucher.consumed", {"redemption_id": redemption.id, "member_id": member.id,
                                      "reference": reference},
         subject="customer", subject_id=member.customer_id)
    return get_redemption(redemption.id)


def expire_vouchers(now: dt.datetime | None = None) -> int:
    """Mark issued vouchers past their date as expired (their points are not given back)."""
    now = now or utcnow()
    return (Redemption.update(status="expired")
            .where((Redemption.status == "issued") & Redemption.expires_at.is_null(False)
                   & (Redemption.expires_at <= now)).execute())


def list_redemptions(member: Member) -> list[Redemption]:
    return list(Redemption.select().where(Redemption.member == member)
                .order_by(Redemption.issued_at.desc(), Redemption.id.desc()))


def redemption_dict(r: Redemption, now: dt.datetime | None = None) -> dict:
    reward = Reward.get_by_id(r.reward_id)
    return {"id": r.id, "member_id": r.member_id, "reward_id": r.reward_id,
            "reward": {"id": reward.id, "name": reward.name, "kind": reward.kind,
                       "value": reward.value, "currency": reward.currency, "sku": reward.sku},
            "points": r.points, "voucher_code": r.voucher_code, "status": voucher_state(r, now),
            "issued_at": r.issued_at, "expires_at": r.expires_at, "consumed_at": r.consumed_at,
            "consumed_reference": r.consumed_reference, "cancelled_at": r.cancelled_at,
            "transaction_id": r.transaction_id}


__all__ = ["cancel_redemption", "check_voucher", "consume_voucher", "create_reward",
           "expire_vouchers", "get_redemption", "get_reward", "list_redemptions", "list_rewards",
           "redeem", "redemption_dict", "update_reward", "voucher_code"]
