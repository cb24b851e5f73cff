"""Demo programme for ``crmkit demo``: a four-tier scheme over the kernel's demo purchases.

The kernel loads its customers (and their purchases, in GBP) first; this then creates the
programme, awards the history through the backfill, and redeems and refers a little, so every
screen has something to show.
"""
from __future__ import annotations

import random
from decimal import Decimal

from crmkit.db import utcnow
from crmkit_loyalty import backfill, members, programmes, rewards
from crmkit_loyalty.ledger import InsufficientPoints
from crmkit_loyalty.models import Member

PROGRAMME = {
    "code": "club", "name": "Riverside Rewards", "points_name": "points", "currency": "GBP",
    "member_prefix": "RR", "rounding": "down", "pending_days": 14,
    "expiry_policy": "year_end", "expiry_period": 1, "tier_measure": "points",
    "tier_window": "calendar_year", "tier_downgrade": "end_of_next_period",
    "tier_schedule": "daily", "referrer_points": 250, "referred_points": 100,
}
RULES = (
    {"kind": "spend", "name": "1 point per pound", "points_per_unit": Decimal("1")},
    {"kind": "interaction", "name": "Store visit", "match": "visit", "points": 10,
     "cap_per_day": 10},
    {"kind": "interaction", "name": "Feedback", "match": "feedback", "points": 25,
     "cap_per_month": 50},
    {"kind": "first_purchase", "name": "Welcome bonus", "points": 100},
)
TIERS = (
    {"name": "Bronze", "rank": 0, "threshold": Decimal(0)},
    {"name": "Silver", "rank": 1, "threshold": Decimal(500), "earn_multiplier": Decimal("1.25"),
     "discount_percent": Decimal(2), "perks": ["priority_booking"]},
    {"name": "Gold", "rank": 2, "threshold": Decimal(2000), "earn_multiplier": Decimal("1.5"),
     "discount_percent": Decimal(5), "perks": ["priority_booking", "free_annual_check"]},
    {"name": "Platinum", "rank": 3, "threshold": Decimal(6000), "earn_multiplier": Decimal(2),
     "discount_percent": Decimal(10),
     "perks": ["priority_booking", "free_annual_check", "dedicated_engineer"]},
)
REWARDS = (
    {"name": "£5 off your next visit", "kind": "voucher_amount", "points_cost": 500,
     "value": Decimal(5), "currency": "GBP", "voucher_valid_days": 90},
    {"name": "10% off a service", "kind": "voucher_percent", "points_cost": 1500,
     "value": Decimal(10), "voucher_valid_days": 90, "min_tier": "Silver"},
    {"name": "Free smart thermostat", "kind": "free_product", "points_cost": 4000,
     "sku": "THERMO-SMART", "stock": 20, "min_tier": "Gold"},
    {"name": "Priority installation slot", "kind": "upgrade", "points_cost": 800},
    {"name": "Summer open day ticket", "kind": "event_ticket", "points_cost": 300, "stock": 40},
)


def load_demo(size: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    programme = programmes.create_programme(PROGRAMME)
    for rule in RULES:
        programmes.create_rule(programme, rule)
    tiers = {data["name"]: programmes.create_tier(programme, data) for data in TIERS}
    catalogue = []
    for data in REWARDS:
        data = dict(data)
        tier = data.pop("min_tier", None)
        if tier:
            data["min_tier_id"] = tiers[tier].id
        catalogue.append(rewards.create_reward(programme, data))
    backfill.backfill(programme, batch_members=max(100, size))
    found = list(Member.select().where(Member.programme == programme).order_by(Member.id))
    now = utcnow()
    for member in rng.sample(found, min(len(found), max(1, size // 10))):
        reward = rng.choice(catalogue)
        try:
            rewards.redeem(member.id, reward.id, now=now)
        except InsufficientPoints:
            pass
        except Exception as exc:  # out of stock, tier too low: demo data skips such members
            if getattr(exc, "status", None) != 409:
                raise
    for member in found[: max(1, size // 20)]:
        members.referral_code(member)
