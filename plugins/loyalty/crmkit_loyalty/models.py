"""Loyalty tables, all prefixed ``loyalty_``.

Customers live in the kernel; members point at them with a plain integer ``customer_id`` (as the
kernel's access rules and the other plugins do), so these migrations never depend on kernel keys.

The points ledger is :class:`Transaction`: append-only, one signed row per movement (earn, redeem,
expire, adjust, reverse), each naming its cause. Every credit also opens a :class:`Lot` that
remembers how much of it is left, when it becomes spendable and when it expires; every debit
records which lots it took from in :class:`Allocation`. So, for each member, always:

    points_balance == SUM(transaction.points) == SUM(lot.remaining) >= 0

and ``SUM(allocation.points)`` of a lot equals what it lost. Balances and lots change only by
conditional ``UPDATE ... SET x = x + d WHERE x + d >= 0`` statements, inside the transaction that
writes the ledger row, after the member's row is locked (see :mod:`crmkit_loyalty.ledger`).
"""
from __future__ import annotations

import decimal

import peewee

from crmkit.auth.fields import JSONField
from crmkit.db import BaseModel, UTCDateTimeField, utcnow

# Choices, in one place for models, schemas and domain checks.
ROUNDINGS = ("down", "half_up", "half_even", "up")
EXPIRY_POLICIES = ("never", "days", "month_end", "year_end")
TIER_MEASURES = ("points", "amount", "visits")
TIER_WINDOWS = ("calendar_year", "rolling")
DOWNGRADES = ("immediate", "end_of_next_period")
SCHEDULES = ("daily", "weekly", "monthly", "yearly", "manual")
RULE_KINDS = ("spend", "product", "category", "interaction", "first_purchase")
TRANSACTION_KINDS = ("earn", "redeem", "expire", "adjust", "reverse")
REWARD_KINDS = ("voucher_amount", "voucher_percent", "free_product", "upgrade", "event_ticket")
MEMBER_STATUSES = ("active", "merged", "erased")
REDEMPTION_STATUSES = ("issued", "consumed", "cancelled", "expired")


def points_field(**kwargs) -> peewee.BigIntegerField:
    return peewee.BigIntegerField(**kwargs)


class FixedDecimal(peewee.DecimalField):
    """Decimal read back with its declared places on both engines (SQLite hands back 5 for
    5.0000), so the API shows the same thing whichever database is behind it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_round", True)
        super().__init__(*args, **kwargs)

    def python_value(self, value):
        value = super().python_value(value)
        if value is None:
            return None
        return value.quantize(decimal.Decimal(1).scaleb(-self.decimal_places))


class Programme(BaseModel):
    code = peewee.CharField(max_length=50, unique=True)  # short slug: CLI, segment field names
    name = peewee.CharField(max_length=200)
    points_name = peewee.CharField(max_length=50, default="points")
    # Tiers measuring spend count purchases in this currency; spend rules name their own.
    currency = peewee.CharField(max_length=3)
    starts_at = UTCDateTimeField(null=True)
    ends_at = UTCDateTimeField(null=True)
    active = peewee.BooleanField(default=True)
    auto_enrol = peewee.BooleanField(default=True)
    member_prefix = peewee.CharField(max_length=10, default="")
    rounding = peewee.CharField(max_length=10, default="down")
    # Points from a purchase wait this long (the return window) before they can be spent.
    pending_days = peewee.IntegerField(default=0)
    expiry_policy = peewee.CharField(max_length=10, default="never")
    # days: N days after earning; month_end/year_end: the end of the month/year N after earning.
    expiry_period = peewee.IntegerField(default=0)
    tier_measure = peewee.CharField(max_length=10, default="points")
    tier_window = peewee.CharField(max_length=15, default="calendar_year")
    tier_window_days = peewee.IntegerField(default=365)
    tier_downgrade = peewee.CharField(max_length=20, default="end_of_next_period")
    tier_schedule = peewee.CharField(max_length=10, default="daily")
    upgrade_on_earn = peewee.BooleanField(default=True)
    visit_types = JSONField(default=lambda: ["visit", "purchase"])
    referrer_points = peewee.IntegerField(default=0)
    referred_points = peewee.IntegerField(default=0)
    tiers_evaluated_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_programme"


class EarnRule(BaseModel):
    """One way to earn, as data. ``kind`` says which fields matter:

    - spend: ``points_per_unit`` of ``currency`` spent on a purchase;
    - product / category: lines whose sku / category equals ``match`` earn ``multiplier`` times;
    - interaction: an interaction of type ``match`` (a review, a visit) earns ``points``;
    - first_purchase: the member's first purchase earns ``points`` more.
    """

    programme = peewee.ForeignKeyField(Programme, backref="rules", on_delete="CASCADE")
    kind = peewee.CharField(max_length=20)
    name = peewee.CharField(max_length=200)
    currency = peewee.CharField(max_length=3, null=True)
    points_per_unit = FixedDecimal(max_digits=12, decimal_places=4, null=True)
    match = peewee.CharField(max_length=200, null=True)
    multiplier = FixedDecimal(max_digits=8, decimal_places=4, null=True)
    points = peewee.IntegerField(null=True)
    cap_per_day = peewee.IntegerField(null=True)
    cap_per_month = peewee.IntegerField(null=True)
    starts_at = UTCDateTimeField(null=True)
    ends_at = UTCDateTimeField(null=True)
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_earn_rule"


class Tier(BaseModel):
    programme = peewee.ForeignKeyField(Programme, backref="tiers", on_delete="CASCADE")
    name = peewee.CharField(max_length=100)
    rank = peewee.IntegerField()  # 0 is the entry tier; higher is better
    # In the programme's measure: points, currency units, or visits.
    threshold = FixedDecimal(max_digits=18, decimal_places=4)
    earn_multiplier = FixedDecimal(max_digits=6, decimal_places=3, default=1)
    discount_percent = FixedDecimal(max_digits=5, decimal_places=2, default=0)
    perks = JSONField(default=list)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_tier"
        indexes = ((("programme", "rank"), True), (("programme", "name"), True))


class Member(BaseModel):
    programme = peewee.ForeignKeyField(Programme, backref="members", on_delete="CASCADE")
    customer_id = peewee.IntegerField(index=True)
    member_number = peewee.CharField(max_length=30, unique=True, null=True)
    referral_code = peewee.CharField(max_length=20, unique=True, null=True)
    status = peewee.CharField(max_length=10, default="active")
    merged_into = peewee.ForeignKeyField("self", null=True, on_delete="SET NULL")
    tier = peewee.ForeignKeyField(Tier, null=True, on_delete="SET NULL")
    tier_since = UTCDateTimeField(null=True)
    tier_kept_until = UTCDateTimeField(null=True)
    # The ledger's sum, kept in step by conditional UPDATEs; never negative.
    points_balance = points_field(default=0)
    # Reversals the balance could not cover (points already spent); paid from the next earnings.
    points_owed = points_field(default=0)
    first_purchase_at = UTCDateTimeField(null=True)
    enrolled_at = UTCDateTimeField(default=utcnow)
    enrolled_via = peewee.CharField(max_length=20, default="api")
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_member"
        indexes = ((("programme", "customer_id"), True),)


class Transaction(BaseModel):
    """One ledger row. Never updated, never deleted."""

    id = peewee.BigAutoField()
    programme = peewee.ForeignKeyField(Programme, on_delete="CASCADE")
    member = peewee.ForeignKeyField(Member, backref="transactions", on_delete="CASCADE")
    kind = peewee.CharField(max_length=10)
    points = points_field()  # signed
    # What counts toward tiers measured in points: earnings, less what refunds reversed.
    qualifying_points = points_field(default=0)
    # A reversal the balance could not cover: these points became owed (member.points_owed).
    shortfall = points_field(default=0)
    cause = peewee.CharField(max_length=20)
    interaction_id = peewee.BigIntegerField(null=True, index=True)
    rule_id = peewee.IntegerField(null=True)
    redemption_id = peewee.IntegerField(null=True)
    referral_id = peewee.IntegerField(null=True)
    reverses = peewee.ForeignKeyField("self", null=True, on_delete="SET NULL")
    # Credits only: when the points become spendable and when they lapse.
    available_at = UTCDateTimeField(null=True)
    expires_at = UTCDateTimeField(null=True)
    # Makes a credit happen once however often its cause is delivered ("i17:r3" and so on).
    dedupe_key = peewee.CharField(max_length=100, unique=True, null=True)
    note = peewee.TextField(null=True)
    actor = peewee.CharField(max_length=200, null=True)
    occurred_at = UTCDateTimeField()  # when the cause happened (the purchase, the redemption)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_transaction"
        indexes = (
            (("member", "id"), False),
            (("member", "occurred_at"), False),
            (("programme", "occurred_at"), False),
        )


class Lot(BaseModel):
    """What is left of one credit. The only mutable part of the points store."""

    transaction = peewee.ForeignKeyField(Transaction, primary_key=True, on_delete="CASCADE")
    member = peewee.ForeignKeyField(Member, on_delete="CASCADE")
    remaining = points_field()
    available_at = UTCDateTimeField()
    expires_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "loyalty_lot"
        indexes = (
            (("member", "expires_at"), False),
            (("expires_at", "remaining"), False),
        )


class Allocation(BaseModel):
    """Points a debit took from a lot (negative when a cancelled redemption gave them back)."""

    id = peewee.BigAutoField()
    transaction = peewee.ForeignKeyField(Transaction, on_delete="CASCADE")
    lot = peewee.ForeignKeyField(Lot, on_delete="CASCADE", index=True)
    points = points_field()

    class Meta:
        table_name = "loyalty_allocation"
        indexes = ((("transaction",), False),)


class TierChange(BaseModel):
    id = peewee.BigAutoField()
    member = peewee.ForeignKeyField(Member, on_delete="CASCADE")
    from_tier = peewee.ForeignKeyField(Tier, null=True, on_delete="SET NULL")
    to_tier = peewee.ForeignKeyField(Tier, null=True, on_delete="SET NULL")
    reason = peewee.CharField(max_length=20)  # evaluation, earn, enrolment
    measure = FixedDecimal(max_digits=20, decimal_places=4, null=True)
    changed_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_tier_change"
        indexes = ((("member", "changed_at"), False),)


class Reward(BaseModel):
    programme = peewee.ForeignKeyField(Programme, backref="rewards", on_delete="CASCADE")
    name = peewee.CharField(max_length=200)
    description = peewee.TextField(null=True)
    kind = peewee.CharField(max_length=20)
    points_cost = points_field()
    value = FixedDecimal(max_digits=18, decimal_places=4, null=True)
    currency = peewee.CharField(max_length=3, null=True)
    sku = peewee.CharField(max_length=100, null=True)
    min_tier = peewee.ForeignKeyField(Tier, null=True, on_delete="SET NULL")
    # None: unlimited. Otherwise decremented by a conditional UPDATE on each redemption.
    stock = peewee.IntegerField(null=True)
    voucher_valid_days = peewee.IntegerField(null=True)
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_reward"


class Redemption(BaseModel):
    member = peewee.ForeignKeyField(Member, backref="redemptions", on_delete="CASCADE")
    reward = peewee.ForeignKeyField(Reward, on_delete="CASCADE")
    points = points_field()
    voucher_code = peewee.CharField(max_length=40, unique=True)
    status = peewee.CharField(max_length=10, default="issued")
    transaction = peewee.ForeignKeyField(Transaction, null=True, on_delete="SET NULL")
    issued_at = UTCDateTimeField(default=utcnow)
    expires_at = UTCDateTimeField(null=True)
    consumed_at = UTCDateTimeField(null=True)
    consumed_reference = peewee.CharField(max_length=200, null=True)
    cancelled_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "loyalty_redemption"
        indexes = ((("member", "issued_at"), False),)


class Referral(BaseModel):
    programme = peewee.ForeignKeyField(Programme, on_delete="CASCADE")
    referrer = peewee.ForeignKeyField(Member, backref="referrals_made", on_delete="CASCADE")
    referred_customer_id = peewee.IntegerField()
    referred_member = peewee.ForeignKeyField(Member, null=True, on_delete="SET NULL")
    status = peewee.CharField(max_length=10, default="pending")  # pending, rewarded
    created_at = UTCDateTimeField(default=utcnow)
    rewarded_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "loyalty_referral"
        indexes = ((("programme", "referred_customer_id"), True),)


MODELS = [Programme, EarnRule, Tier, Member, Transaction, Lot, Allocation, TierChange, Reward,
          Redemption, Referral]
