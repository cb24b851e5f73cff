"""Programmes and their rules, tiers and policies: configuration as data, checked once for both
doors. Field types and ranges are the schemas' job; this module checks what involves more than
one field or row (a spend rule needs a rate, thresholds rise with rank, names are unique)."""
from __future__ import annotations

import calendar
import datetime as dt
import decimal
from collections.abc import Mapping

import peewee

from crmkit.db import utcnow
from crmkit.errors import Conflict, NotFound, ValidationError
from crmkit_loyalty.models import EarnRule, Member, Programme, Reward, Tier

# Which fields each kind of rule uses; the others must be left out.
RULE_FIELDS = {
    "spend": {"required": ("points_per_unit",), "optional": ("currency", "cap_per_day",
                                                              "cap_per_month")},
    "product": {"required": ("match", "multiplier"), "optional": ()},
    "category": {"required": ("match", "multiplier"), "optional": ()},
    "interaction": {"required": ("match", "points"), "optional": ("cap_per_day",
                                                                  "cap_per_month")},
    "first_purchase": {"required": ("points",), "optional": ()},
}
_RULE_SPECIFIC = ("currency", "points_per_unit", "match", "multiplier", "points", "cap_per_day",
                  "cap_per_month")
# Purchases and refunds earn through spend rules; loyalty's own types must not earn (loops).
_NOT_INTERACTION_RULES = ("purchase", "refund")


# -- programmes -----------------------------------------------------------------------------------

def get_programme(ref: int | str) -> Programme:
    """By id, or by code (the command line accepts either)."""
    if isinstance(ref, int) or str(ref).isdigit():
        programme = Programme.get_or_none(Programme.id == int(ref))
    else:
        programme = Programme.get_or_none(Programme.code == str(ref))
    if programme is None:
        raise NotFound(f"No loyalty programme {ref!r}.")
    return programme


def list_programmes() -> list[Programme]:
    return list(Programme.select().order_by(Programme.id))


def _check_programme(data: Mapping, current: Programme | None) -> None:
    def value(name):
        return data[name] if name in data else getattr(current, name, None)

    errors = {}
    starts, ends = value("starts_at"), value("ends_at")
    if starts and ends and ends <= starts:
        errors["ends_at"] = "Must be after starts_at."
    if value("expiry_policy") == "days" and not value("expiry_period"):
        errors["expiry_period"] = "Give the number of days points last."
    if errors:
        raise ValidationError(errors)


def create_programme(data: Mapping) -> Programme:
    _check_programme(data, None)
    if Programme.select().where(Programme.code == data["code"]).exists():
        raise Conflict(f"A programme with code {data['code']!r} exists already.")
    try:
        with Programme._meta.database.atomic():
            return Programme.create(**data)
    except peewee.IntegrityError:
        raise Conflict(f"A programme with code {data['code']!r} exists already.") from None


def update_programme(programme: Programme, data: Mapping) -> Programme:
    _check_programme(data, programme)
    for name, value in data.items():
        setattr(programme, name, value)
    programme.updated_at = utcnow()
    programme.save()
    return programme


def running_at(at: dt.datetime):
    """Condition: the programme is switched on and ``at`` lies in its active window."""
    return ((Programme.active == True)  # noqa: E712
            & (Programme.starts_at.is_null() | (Programme.starts_at <= at))
            & (Programme.ends_at.is_null() | (Programme.ends_at > at)))


def active_programmes(at: dt.datetime) -> list[Programme]:
    """Programmes that earn at ``at`` (the time a purchase happened)."""
    return list(Programme.select().where(running_at(at)).order_by(Programme.id))


# -- policies -------------------------------------------------------------------------------------

def _end_of_month(year: int, month: int) -> dt.datetime:
    """The first instant after the month: points "expire at the end of March" lapse at
    April 1 00:00 UTC."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.datetime(year, month, last, tzinfo=dt.timezone.utc) + dt.timedelta(days=1)


def expires_at_for(programme: Programme, earned_at: dt.datetime) -> dt.datetime | None:
    policy, period = programme.expiry_policy, programme.expiry_period or 0
    earned_at = earned_at.astimezone(dt.timezone.utc)
    if policy == "days":
        return earned_at + dt.timedelta(days=period)
    if policy == "month_end":
        return _end_of_month(earned_at.year, earned_at.month + period)
    if policy == "year_end":
        return dt.datetime(earned_at.year + period + 1, 1, 1, tzinfo=dt.timezone.utc)
    return None


def available_at_for(programme: Programme, earned_at: dt.datetime) -> dt.datetime:
    return earned_at + dt.timedelta(days=programme.pending_days or 0)


# -- earn rules -----------------------------------------------------------------------------------

def get_rule(programme: Programme, rule_id: int) -> EarnRule:
    rule = EarnRule.get_or_none((EarnRule.id == rule_id) & (EarnRule.programme == programme))
    if rule is None:
        raise NotFound(f"Programme {programme.code!r} has no earn rule {rule_id}.")
    return rule


def list_rules(programme: Programme) -> list[EarnRule]:
    return list(EarnRule.select().where(EarnRule.programme == programme).order_by(EarnRule.id))


def _check_rule(programme: Programme, data: Mapping, current: EarnRule | None) -> dict:
    merged = {name: getattr(current, name) for name in ("kind", "starts_at", "ends_at", "active",
                                                         *_RULE_SPECIFIC)} if current else {}
    merged.update(data)
    kind = merged["kind"]
    spec = RULE_FIELDS[kind]
    errors = {}
    for name in spec["required"]:
        if merged.get(name) is None:
            errors[name] = f"A {kind} rule needs {name}."
    for name in _RULE_SPECIFIC:
        if name in data and data[name] is not None and name not in spec["required"] \
                and name not in spec["optional"]:
            errors[name] = f"Not used by a {kind} rule."
    if kind == "interaction" and merged.get("match"):
        if merged["match"] in _NOT_INTERACTION_RULES or merged["match"].startswith("loyalty."):
            errors["match"] = ("Purchases and refunds earn through spend rules; loyalty's own "
                               "interaction types cannot earn.")
    if merged.get("starts_at") and merged.get("ends_at") and merged["ends_at"] <= merged["starts_at"]:
        errors["ends_at"] = "Must be after starts_at."
    if errors:
        raise ValidationError(errors)
    if kind == "spend":
        merged["currency"] = merged.get("currency") or programme.currency
        clash = EarnRule.select().where(
            (EarnRule.programme == programme) & (EarnRule.kind == "spend")
            & (EarnRule.currency == merged["currency"]) & (EarnRule.active == True))  # noqa: E712
        if current is not None:
            clash = clash.where(EarnRule.id != current.id)
        if merged.get("active", True) and clash.exists():
            raise Conflict(f"Programme {programme.code!r} already has an active spend rule for "
                           f"{merged['currency']}; change that one or deactivate it first.")
    return merged


def create_rule(programme: Programme, data: Mapping) -> EarnRule:
    merged = _check_rule(programme, data, None)
    return EarnRule.create(programme=programme, **{k: v for k, v in merged.items()
                                                   if k in EarnRule._meta.fields})


def update_rule(rule: EarnRule, data: Mapping) -> EarnRule:
    if "kind" in data and data["kind"] != rule.kind:
        raise ValidationError({"kind": "A rule's kind cannot change; add a new rule."})
    merged = _check_rule(rule.programme, data, rule)
    for name, value in merged.items():
        if name in data or name == "currency":
            setattr(rule, name, value)
    rule.save()
    return rule


# -- tiers ----------------------------------------------------------------------------------------

def list_tiers(programme: Programme) -> list[Tier]:
    return list(Tier.select().where(Tier.programme == programme).order_by(Tier.rank))


def get_tier(programme: Programme, tier_id: int) -> Tier:
    tier = Tier.get_or_none((Tier.id == tier_id) & (Tier.programme == programme))
    if tier is None:
        raise NotFound(f"Programme {programme.code!r} has no tier {tier_id}.")
    return tier


def _check_tiers(programme: Programme, candidate: Tier) -> None:
    others = [t for t in list_tiers(programme) if t.id != candidate.id]
    for other in others:
        if other.rank == candidate.rank:
            raise Conflict(f"Tier {other.name!r} already has rank {candidate.rank}.")
        if other.name.lower() == candidate.name.lower():
            raise Conflict(f"Programme {programme.code!r} already has a tier named {other.name!r}.")
    for other in others:
        below = other.rank < candidate.rank
        if (below and other.threshold >= candidate.threshold) or \
                (not below and other.threshold <= candidate.threshold):
            raise ValidationError({"threshold": (
                f"Thresholds must rise with rank: tier {other.name!r} (rank {other.rank}) has "
                f"{other.threshold}.")})


def create_tier(programme: Programme, data: Mapping) -> Tier:
    tier = Tier(programme=programme, **data)
    _check_tiers(programme, tier)
    tier.save()
    return tier


def update_tier(tier: Tier, data: Mapping) -> Tier:
    for name, value in data.items():
        setattr(tier, name, value)
    _check_tiers(tier.programme, tier)
    tier.save()
    return tier


def delete_tier(tier: Tier) -> None:
    holders = Member.select().where(Member.tier == tier).count()
    if holders:
        raise Conflict(f"{holders} member(s) hold tier {tier.name!r}; move them first "
                       "(change thresholds and evaluate) before deleting it.")
    Reward.update(min_tier=None).where(Reward.min_tier == tier).execute()
    tier.delete_instance()


def entry_tier(programme: Programme) -> Tier | None:
    """The tier a new member starts in: the lowest, when it asks for nothing."""
    tier = Tier.select().where(Tier.programme == programme).order_by(Tier.rank).first()
    return tier if tier is not None and tier.threshold <= 0 else None


def decimal_or_none(value) -> decimal.Decimal | None:
    return None if value is None else decimal.Decimal(str(value))
