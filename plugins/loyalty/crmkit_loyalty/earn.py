"""Earning: purchases, other interactions, first-purchase bonuses; refunds reverse.

Everything enters through :func:`on_interaction` (the kernel's ``interaction_recorded`` hook), so
purchases earn whoever records them: the API, an import, another plugin. Each credit carries a
dedupe key made of its cause (``i<interaction>:r<rule>``), so a purchase earns once however often
it is delivered; the backfill (:mod:`crmkit_loyalty.backfill`) uses the same keys and the same
arithmetic (:func:`spend_points`).

Arithmetic: Decimal throughout, rounded once per credit with the programme's explicit rounding.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from dataclasses import dataclass, field

from peewee import fn

from crmkit.customers.models import Interaction
from crmkit.db import utcnow
from crmkit_loyalty import ledger
from crmkit_loyalty.members import enrol, find_member
from crmkit_loyalty.models import Allocation, EarnRule, Member, Programme, Tier, Transaction
from crmkit_loyalty.programmes import (active_programmes, available_at_for, expires_at_for,
                                        running_at)

D = decimal.Decimal
ZERO, ONE = D(0), D(1)
ROUNDING = {"down": decimal.ROUND_FLOOR, "up": decimal.ROUND_CEILING,
            "half_up": decimal.ROUND_HALF_UP, "half_even": decimal.ROUND_HALF_EVEN}


def round_points(raw: decimal.Decimal, mode: str) -> int:
    return int(raw.to_integral_value(rounding=ROUNDING[mode]))


def purchase_key(interaction_id: int, rule_id: int) -> str:
    return f"i{interaction_id}:r{rule_id}"


def first_purchase_key(member_id: int) -> str:
    return f"first:m{member_id}"


@dataclass
class RuleBook:
    """A programme's purchase rules in force at one moment, indexed for earning (interaction
    rules are looked up by type: :func:`interaction_rules`)."""

    spend: dict[str, EarnRule] = field(default_factory=dict)
    products: dict[str, decimal.Decimal] = field(default_factory=dict)
    categories: dict[str, decimal.Decimal] = field(default_factory=dict)
    first_purchase: EarnRule | None = None

    @property
    def by_line(self) -> bool:
        return bool(self.products or self.categories)


def _in_force(rule: EarnRule, at: dt.datetime) -> bool:
    return rule.active and (rule.starts_at is None or rule.starts_at <= at) and \
        (rule.ends_at is None or rule.ends_at > at)


def rule_book(rules: list[EarnRule], at: dt.datetime) -> RuleBook:
    book = RuleBook()
    for rule in rules:
        if not _in_force(rule, at):
            continue
        if rule.kind == "spend":
            book.spend[rule.currency] = rule
        elif rule.kind == "product":
            # Two promotions on one product: the better one applies, they do not multiply.
            book.products[rule.match] = max(rule.multiplier, book.products.get(rule.match, ZERO))
        elif rule.kind == "category":
            book.categories[rule.match] = max(rule.multiplier,
                                              book.categories.get(rule.match, ZERO))
        elif rule.kind == "first_purchase":
            book.first_purchase = rule
    return book


def programme_rules(programme: Programme) -> list[EarnRule]:
    return list(EarnRule.select().where((EarnRule.programme == programme.id)
                                        & (EarnRule.active == True))  # noqa: E712
                .order_by(EarnRule.id))


def weighted_spend(book: RuleBook, amount: decimal.Decimal, lines: list[dict] | None) -> decimal.Decimal:
    """The purchase amount with product and category multipliers applied line by line.

    Lines are scaled down to the amount when they add up to more (a discount on the order);
    whatever the amount holds beyond the lines (delivery) earns at the plain rate.
    """
    if not lines or not book.by_line:
        return amount
    totals = []
    for line in lines:
        try:
            total = D(str(line.get("total", "0")))
        except decimal.InvalidOperation:
            total = ZERO
        multiplier = book.products.get(line.get("sku")) if line.get("sku") else None
        if multiplier is None:
            multiplier = book.categories.get(line.get("category"), ONE)
        totals.append((total, multiplier))
    line_sum = sum((t for t, _ in totals), ZERO)
    if line_sum <= 0:
        return amount
    scale = min(ONE, amount / line_sum)
    rest = amount - line_sum * scale
    return sum((t * scale * m for t, m in totals), ZERO) + rest


@dataclass(frozen=True)
class SpendEarning:
    rule: EarnRule
    points: int       # after the tier multiplier, before caps
    qualifying: int   # before the tier multiplier: tiers must not feed themselves


def spend_points(book: RuleBook, amount, currency: str | None, lines: list[dict] | None,
                 rounding: str, tier_multiplier: decimal.Decimal = ONE) -> SpendEarning | None:
    """What a purchase earns by the spend rule for its currency; None without such a rule."""
    rule = book.spend.get(currency)
    if rule is None or amount is None:
        return None
    if not isinstance(amount, D):
        amount = D(str(amount))
    base = weighted_spend(book, amount, lines) * rule.points_per_unit
    return SpendEarning(rule, round_points(base * tier_multiplier, rounding),
                        round_points(base, rounding))


def _day_bounds(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = at.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


def _month_bounds(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = at.astimezone(dt.timezone.utc).replace(day=1, hour=0, minute=0, second=0,
                                                  microsecond=0)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def caps_of(rule: EarnRule, at: dt.datetime) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """(cap, window start, window end) for each cap the rule has; days and months are UTC."""
    out = []
    if rule.cap_per_day:
        out.append((rule.cap_per_day, *_day_bounds(at)))
    if rule.cap_per_month:
        out.append((rule.cap_per_month, *_month_bounds(at)))
    return out


def apply_caps(member_id: int, rule: EarnRule, points: int, at: dt.datetime) -> int:
    """``points`` cut to what the rule's daily and monthly caps still allow the member."""
    for cap, start, end in caps_of(rule, at):
        earned = (Transaction.select(fn.COALESCE(fn.SUM(Transaction.points), 0))
                  .where((Transaction.member == member_id) & (Transaction.rule_id == rule.id)
                         & (Transaction.kind == "earn") & (Transaction.occurred_at >= start)
                         & (Transaction.occurred_at < end)).scalar())
        points = min(points, max(0, cap - int(earned)))
    return points


def tier_multiplier(member: Member) -> decimal.Decimal:
    if member.tier_id is None:
        return ONE
    tier = Tier.get_or_none(Tier.id == member.tier_id)
    return tier.earn_multiplier if tier is not None else ONE


# -- the hook -------------------------------------------------------------------------------------

def on_interaction(interaction: Interaction, now: dt.datetime | None = None) -> None:
    """Earn or reverse for every programme running when the interaction happened."""
    now = now or utcnow()
    if interaction.type not in ("purchase", "refund"):
        # Calls and emails are most of a timeline and earn nothing: one query finds the rules.
        rules = interaction_rules(interaction.type, interaction.occurred_at)
        for rule in rules:
            earn_from_interaction(rule.programme, rule, interaction, now)
        return
    programmes = active_programmes(interaction.occurred_at)
    for programme in programmes:
        if interaction.type == "purchase":
            earn_from_purchase(programme, interaction, now)
        else:
            reverse_refund(programme, interaction, now)


def interaction_rules(kind: str, at: dt.datetime) -> list[EarnRule]:
    """Interaction rules for ``kind`` in force at ``at``, in programmes running then."""
    rules = (EarnRule.select(EarnRule, Programme).join(Programme)
             .where((EarnRule.kind == "interaction") & (EarnRule.match == kind)
                    & (EarnRule.active == True) & running_at(at))  # noqa: E712
             .order_by(EarnRule.id))
    return [rule for rule in rules if _in_force(rule, at)]


def _credit_kwargs(programme: Programme, interaction: Interaction, now: dt.datetime,
                   pending: bool) -> dict:
    earned_at = interaction.occurred_at
    return {"kind": "earn", "now": now, "occurred_at": earned_at,
            "available_at": available_at_for(programme, earned_at) if pending else now,
            "expires_at": expires_at_for(programme, earned_at),
            "interaction_id": interaction.id}


def _lines(interaction: Interaction) -> list[dict] | None:
    return json.loads(interaction.lines) if interaction.lines else None


def earn_from_purchase(programme: Programme, interaction: Interaction,
                       now: dt.datetime) -> list[Transaction]:
    member = find_member(programme, interaction.customer_id)
    if member is None:
        if not programme.auto_enrol:
            return []
        member, _ = enrol(programme, interaction.customer_id, via="purchase", now=now)
    if member.status != "active":
        return []
    member = ledger.lock_member(member.id)
    book = rule_book(programme_rules(programme), interaction.occurred_at)
    made = []
    earning = spend_points(book, interaction.amount, interaction.currency, _lines(interaction),
                           programme.rounding, tier_multiplier(member))
    if earning is not None:
        key = purchase_key(interaction.id, earning.rule.id)
        points = apply_caps(member.id, earning.rule, earning.points, interaction.occurred_at)
        if points > 0 and not ledger.exists(key):
            made.append(ledger.credit(
                member, points, cause="purchase", rule_id=earning.rule.id, dedupe_key=key,
                qualifying=min(points, earning.qualifying),
                **_credit_kwargs(programme, interaction, now, pending=True)))
    first = (Member.update(first_purchase_at=interaction.occurred_at)
             .where((Member.id == member.id) & Member.first_purchase_at.is_null()).execute())
    if first:
        rule = book.first_purchase
        if rule is not None:
            tx = ledger.credit(member, rule.points, cause="first_purchase", rule_id=rule.id,
                               qualifying=rule.points, dedupe_key=first_purchase_key(member.id),
                               **_credit_kwargs(programme, interaction, now, pending=True))
            made.append(tx)
        from crmkit_loyalty.referrals import reward_referral
        made += reward_referral(programme, member, interaction, now)
    made = [tx for tx in made if tx is not None]
    if made and programme.upgrade_on_earn:
        from crmkit_loyalty.tiers import evaluate_tiers
        evaluate_tiers(programme, as_of=now, member_ids=[member.id], upgrades_only=True,
                       reason="earn")
    return made


def earn_from_interaction(programme: Programme, rule: EarnRule, interaction: Interaction,
                          now: dt.datetime) -> Transaction | None:
    """Points for a review, a visit, a survey: whatever an interaction rule names."""
    member = find_member(programme, interaction.customer_id)
    if member is None or member.status != "active":
        return None  # only purchases enrol: a visit alone does not make a member
    member = ledger.lock_member(member.id)
    key = purchase_key(interaction.id, rule.id)
    points = apply_caps(member.id, rule, rule.points, interaction.occurred_at)
    if points <= 0 or ledger.exists(key):
        return None
    tx = ledger.credit(member, points, cause="interaction", rule_id=rule.id, dedupe_key=key,
                       qualifying=points,
                       **_credit_kwargs(programme, interaction, now, pending=False))
    if programme.upgrade_on_earn:
        from crmkit_loyalty.tiers import evaluate_tiers
        evaluate_tiers(programme, as_of=now, member_ids=[member.id], upgrades_only=True,
                       reason="earn")
    return tx


# -- refunds --------------------------------------------------------------------------------------

def linked_purchase(refund: Interaction) -> Interaction | None:
    """The purchase a refund names: ``payload.purchase_id`` (the interaction id) or
    ``payload.purchase_external_id`` (the purchase's external id from the same source)."""
    payload = json.loads(refund.payload) if refund.payload else {}
    query = Interaction.select().where((Interaction.customer == refund.customer_id)
                                       & (Interaction.type == "purchase"))
    if payload.get("purchase_id") is not None:
        try:
            return query.where(Interaction.id == int(payload["purchase_id"])).first()
        except (TypeError, ValueError):
            return None
    if payload.get("purchase_external_id") is not None:
        return query.where((Interaction.source == refund.source)
                           & (Interaction.external_id == str(payload["purchase_external_id"]))
                           ).first()
    return None


def _half_up(value: decimal.Decimal) -> int:
    return round_points(value, "half_up")


def reverse_refund(programme: Programme, refund: Interaction,
                   now: dt.datetime) -> Transaction | None:
    """Take back the refunded share of what the purchase earned.

    A refund of 40 on a purchase of 100 reverses 40% of the purchase's points (and of its
    qualifying points); refunds adding up to the whole amount reverse everything that is left.
    Points of the purchase that already expired are not taken twice. A refund naming no purchase
    reverses its amount at the spend rule's plain rate.
    """
    member = find_member(programme, refund.customer_id)
    if member is None:
        return None
    key = f"refund:{refund.id}"
    member = ledger.lock_member(member.id)
    if ledger.exists(key):
        return None
    purchase = linked_purchase(refund)
    if purchase is None:
        book = rule_book(programme_rules(programme), refund.occurred_at)
        earning = spend_points(book, refund.amount, refund.currency, None, "half_up")
        if earning is None or earning.qualifying <= 0:
            return None
        return ledger.claw_back(member, earning.qualifying, cause="refund", now=now,
                                occurred_at=refund.occurred_at, prefer=[],
                                qualifying=-earning.qualifying, dedupe_key=key,
                                interaction_id=refund.id)
    earned_txs = list(Transaction.select().where(
        (Transaction.member == member.id) & (Transaction.interaction_id == purchase.id)
        & (Transaction.kind == "earn")))
    if not earned_txs:
        return None
    earned = sum(t.points for t in earned_txs)
    earned_q = sum(t.qualifying_points for t in earned_txs)
    lot_ids = [t.id for t in earned_txs]
    expired = int(Allocation.select(fn.COALESCE(fn.SUM(Allocation.points), 0))
                  .join(Transaction, on=(Transaction.id == Allocation.transaction))
                  .where(Allocation.lot.in_(lot_ids) & (Transaction.kind == "expire"))
                  .scalar())
    prior = list(Transaction.select().where((Transaction.reverses.in_(lot_ids))
                                            & (Transaction.cause == "refund")))
    prior_points = sum(-t.points + t.shortfall for t in prior)
    prior_q = sum(-t.qualifying_points for t in prior)
    refunded_before = sum((i.amount for i in Interaction.select(Interaction.amount).where(
        Interaction.id.in_([t.interaction_id for t in prior]))), ZERO) if prior else ZERO
    total = D(str(purchase.amount or 0))
    whole = total <= 0 or refunded_before + refund.amount >= total
    share = ONE if whole else refund.amount / total
    reversible = max(0, earned - expired - prior_points)
    points = reversible if whole else min(reversible, _half_up(earned * share))
    qualifying = earned_q - prior_q if whole else min(earned_q - prior_q,
                                                      _half_up(earned_q * share))
    if points <= 0 and qualifying <= 0:
        return None
    return ledger.claw_back(member, points, cause="refund", now=now,
                            occurred_at=refund.occurred_at, prefer=lot_ids,
                            qualifying=-qualifying, dedupe_key=key, interaction_id=refund.id,
                            reverses=earned_txs[0].id)
