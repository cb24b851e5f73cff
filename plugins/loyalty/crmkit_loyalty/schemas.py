"""Load and dump shapes. Load schemas hold only what a caller may set: balances, tiers, member
numbers, stock taken and timestamps are the server's, and an unknown field is a 422. The command
line loads its ``--data`` through the same schemas, so both doors accept the same documents."""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit_loyalty.models import (DOWNGRADES, EXPIRY_POLICIES, REWARD_KINDS, ROUNDINGS,
                                   RULE_KINDS, SCHEDULES, TIER_MEASURES, TIER_WINDOWS)

MAX_POINTS = 1_000_000_000
_CURRENCY = v.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code such as EUR.")


def _when(**kw):
    return f.AwareDateTime(default_timezone=dt.timezone.utc, allow_none=True, **kw)


def _decimal(low, high, **kw):
    return f.Decimal(as_string=True, allow_nan=False, validate=v.Range(min=low, max=high), **kw)


def _points(low=1, **kw):
    return f.Integer(strict=True, validate=v.Range(min=low, max=MAX_POINTS), **kw)


class Partial(ma.Schema):
    """PATCH shapes: the same fields, every one optional."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


# -- programmes -----------------------------------------------------------------------------------

class ProgrammeFields(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=200))
    points_name = f.String(validate=v.Length(min=1, max=50))
    currency = f.String(required=True, validate=_CURRENCY)
    starts_at = _when()
    ends_at = _when()
    active = f.Boolean()
    auto_enrol = f.Boolean()
    member_prefix = f.String(validate=v.Regexp(r"^[A-Z0-9-]{0,10}$",
                                               error="Up to 10 capitals, digits or dashes."))
    rounding = f.String(validate=v.OneOf(ROUNDINGS))
    pending_days = f.Integer(strict=True, validate=v.Range(min=0, max=365))
    expiry_policy = f.String(validate=v.OneOf(EXPIRY_POLICIES))
    expiry_period = f.Integer(strict=True, validate=v.Range(min=0, max=3650))
    tier_measure = f.String(validate=v.OneOf(TIER_MEASURES))
    tier_window = f.String(validate=v.OneOf(TIER_WINDOWS))
    tier_window_days = f.Integer(strict=True, validate=v.Range(min=1, max=3660))
    tier_downgrade = f.String(validate=v.OneOf(DOWNGRADES))
    tier_schedule = f.String(validate=v.OneOf(SCHEDULES))
    upgrade_on_earn = f.Boolean()
    visit_types = f.List(f.String(validate=v.Length(min=1, max=50)),
                         validate=v.Length(min=1, max=20))
    referrer_points = _points(low=0)
    referred_points = _points(low=0)


class ProgrammeIn(ProgrammeFields):
    code = f.String(required=True, validate=v.Regexp(
        r"^[a-z][a-z0-9_]{1,49}$", error="2-50 lower-case letters, digits or _, e.g. 'club'."))


class ProgrammePatch(ProgrammeFields, Partial):
    """Everything but the code, which names the programme's segment fields."""


class ProgrammeOut(ProgrammeIn):
    id = f.Integer()
    tiers_evaluated_at = f.AwareDateTime(allow_none=True)
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()


# -- rules ----------------------------------------------------------------------------------------

class RuleIn(ma.Schema):
    kind = f.String(required=True, validate=v.OneOf(RULE_KINDS))
    name = f.String(required=True, validate=v.Length(min=1, max=200))
    currency = f.String(validate=_CURRENCY, allow_none=True)
    points_per_unit = _decimal(0, 100_000, allow_none=True)
    match = f.String(validate=v.Length(min=1, max=200), allow_none=True)
    multiplier = _decimal(0, 100, allow_none=True)
    points = _points(allow_none=True)
    cap_per_day = _points(allow_none=True)
    cap_per_month = _points(allow_none=True)
    starts_at = _when()
    ends_at = _when()
    active = f.Boolean()


class RulePatch(RuleIn, Partial):
    pass


class RuleOut(RuleIn):
    id = f.Integer()
    programme_id = f.Integer()
    created_at = f.AwareDateTime()


# -- tiers ----------------------------------------------------------------------------------------

class TierIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    rank = f.Integer(required=True, strict=True, validate=v.Range(min=0, max=100))
    threshold = _decimal(0, 10 ** 13, required=True)
    earn_multiplier = _decimal(0, 100)
    discount_percent = _decimal(0, 100)
    perks = f.List(f.String(validate=v.Length(min=1, max=100)), validate=v.Length(max=50))


class TierPatch(TierIn, Partial):
    pass


class TierOut(TierIn):
    id = f.Integer()
    programme_id = f.Integer()


class EvaluateIn(ma.Schema):
    as_of = _when(metadata={"description": "Evaluate as at this moment (default: now), e.g. "
                                           "the first instant of a new year."})


class EvaluationOut(ma.Schema):
    programme = f.String()
    as_of = f.AwareDateTime()
    changed = f.Integer()
    upgraded = f.Integer()
    downgraded = f.Integer()


class BackfillIn(ma.Schema):
    since = _when()
    until = _when()
    evaluate = f.Boolean(load_default=True)


class BackfillOut(ma.Schema):
    enrolled = f.Integer()
    purchases = f.Integer()
    transactions = f.Integer()
    points = f.Integer()
    refunds = f.Integer()
    tiers_changed = f.Integer()


# -- rewards --------------------------------------------------------------------------------------

class RewardIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=200))
    description = f.String(validate=v.Length(max=5000), allow_none=True)
    kind = f.String(required=True, validate=v.OneOf(REWARD_KINDS))
    points_cost = _points(required=True)
    value = _decimal(0, 10 ** 13, allow_none=True)
    currency = f.String(validate=_CURRENCY, allow_none=True)
    sku = f.String(validate=v.Length(min=1, max=100), allow_none=True)
    min_tier_id = f.Integer(strict=True, allow_none=True)
    stock = f.Integer(strict=True, validate=v.Range(min=0, max=MAX_POINTS), allow_none=True)
    voucher_valid_days = f.Integer(strict=True, validate=v.Range(min=1, max=3650),
                                   allow_none=True)
    active = f.Boolean()


class RewardPatch(RewardIn, Partial):
    pass


class RewardOut(RewardIn):
    id = f.Integer()
    programme_id = f.Integer()
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()


class RewardListArgs(ma.Schema):
    active = f.Boolean()


# -- members --------------------------------------------------------------------------------------

class EnrolIn(ma.Schema):
    customer_id = f.Integer(required=True, strict=True)


class PageArgs(ma.Schema):
    cursor = f.String(validate=v.Length(max=500))
    limit = f.Integer(metadata={"description": "Page size; at most CRMKIT_MAX_PAGE_SIZE."})


class MemberListArgs(PageArgs):
    customer_id = f.Integer()
    tier_id = f.Integer()
    status = f.String()
    number = f.String(metadata={"description": "A member number"})


class TierBrief(ma.Schema):
    id = f.Integer()
    name = f.String()
    rank = f.Integer()
    threshold = f.Decimal(as_string=True)
    earn_multiplier = f.Decimal(as_string=True)
    discount_percent = f.Decimal(as_string=True)
    perks = f.List(f.String())


class MemberOut(ma.Schema):
    id = f.Integer()
    programme_id = f.Integer()
    programme = f.String()
    customer_id = f.Integer()
    member_number = f.String()
    referral_code = f.String(allow_none=True)
    status = f.String()
    tier = f.Nested(TierBrief, allow_none=True)
    tier_since = f.AwareDateTime(allow_none=True)
    tier_kept_until = f.AwareDateTime(allow_none=True)
    points_balance = f.Integer()
    points_owed = f.Integer()
    first_purchase_at = f.AwareDateTime(allow_none=True)
    enrolled_at = f.AwareDateTime()
    enrolled_via = f.String()


class MemberPage(ma.Schema):
    items = f.List(f.Nested(MemberOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


class TransactionOut(ma.Schema):
    id = f.Integer()
    kind = f.String()
    points = f.Integer()
    qualifying_points = f.Integer()
    shortfall = f.Integer()
    cause = f.String()
    interaction_id = f.Integer(allow_none=True)
    rule_id = f.Integer(allow_none=True)
    redemption_id = f.Integer(allow_none=True)
    referral_id = f.Integer(allow_none=True)
    reverses_id = f.Integer(allow_none=True)
    available_at = f.AwareDateTime(allow_none=True)
    expires_at = f.AwareDateTime(allow_none=True)
    note = f.String(allow_none=True)
    actor = f.String(allow_none=True)
    occurred_at = f.AwareDateTime()
    created_at = f.AwareDateTime()


class TransactionListArgs(PageArgs):
    kind = f.String(metadata={"description": "earn, redeem, expire, adjust, reverse; "
                                             "comma-separated"})


class TransactionPage(ma.Schema):
    items = f.List(f.Nested(TransactionOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


class AdjustIn(ma.Schema):
    points = f.Integer(required=True, strict=True,
                       validate=v.Range(min=-MAX_POINTS, max=MAX_POINTS))
    reason = f.String(required=True, validate=v.Length(min=3, max=1000))

    @ma.validates("points")
    def _not_zero(self, value, **_):
        if value == 0:
            raise ma.ValidationError("An adjustment moves at least one point.")


class DatedPoints(ma.Schema):
    date = f.Date()
    points = f.Integer()


class NextTier(ma.Schema):
    tier = f.Nested(TierBrief)
    threshold = f.Decimal(as_string=True)
    remaining = f.Decimal(as_string=True)


class Progress(ma.Schema):
    tier = f.Nested(TierBrief, allow_none=True)
    since = f.AwareDateTime(allow_none=True)
    kept_until = f.AwareDateTime(allow_none=True)
    measure = f.String()
    window_start = f.AwareDateTime()
    window_end = f.AwareDateTime()
    value = f.Decimal(as_string=True)
    previous_period_value = f.Decimal(as_string=True)
    next = f.Nested(NextTier, allow_none=True)


class OpenVoucher(ma.Schema):
    id = f.Integer()
    voucher_code = f.String()
    reward_id = f.Integer()
    points = f.Integer()
    expires_at = f.AwareDateTime(allow_none=True)


class StatementOut(ma.Schema):
    member = f.Nested(MemberOut)
    points_name = f.String()
    as_of = f.AwareDateTime()
    balance = f.Integer()
    available = f.Integer()
    pending = f.Integer()
    lapsed = f.Integer(metadata={"description": "Past their date; the expiry job writes them "
                                               "off"})
    owed = f.Integer()
    pending_until = f.List(f.Nested(DatedPoints))
    expiring_soon = f.List(f.Nested(DatedPoints))
    tier = f.Nested(Progress)
    history = f.List(f.Nested(TransactionOut))
    open_vouchers = f.List(f.Nested(OpenVoucher))


class TierChangeOut(ma.Schema):
    to = f.String(allow_none=True, data_key="to")
    from_ = f.String(allow_none=True, data_key="from", attribute="from")
    reason = f.String()
    changed_at = f.AwareDateTime()
    measure = f.Decimal(as_string=True, allow_none=True)


class ReferralCodeOut(ma.Schema):
    member_id = f.Integer()
    referral_code = f.String()


# -- redemptions, vouchers, referrals -------------------------------------------------------------

class RedeemIn(ma.Schema):
    reward_id = f.Integer(required=True, strict=True)


class RewardBrief(ma.Schema):
    id = f.Integer()
    name = f.String()
    kind = f.String()
    value = f.Decimal(as_string=True, allow_none=True)
    currency = f.String(allow_none=True)
    sku = f.String(allow_none=True)


class RedemptionOut(ma.Schema):
    id = f.Integer()
    member_id = f.Integer()
    reward_id = f.Integer()
    reward = f.Nested(RewardBrief)
    points = f.Integer()
    voucher_code = f.String()
    status = f.String()
    valid = f.Boolean()
    issued_at = f.AwareDateTime()
    expires_at = f.AwareDateTime(allow_none=True)
    consumed_at = f.AwareDateTime(allow_none=True)
    consumed_reference = f.String(allow_none=True)
    cancelled_at = f.AwareDateTime(allow_none=True)
    transaction_id = f.Integer(allow_none=True)


class ConsumeIn(ma.Schema):
    reference = f.String(validate=v.Length(min=1, max=200), allow_none=True)


class ReferIn(ma.Schema):
    code = f.String(required=True, validate=v.Length(min=4, max=20))
    customer_id = f.Integer(required=True, strict=True)


class ReferralOut(ma.Schema):
    id = f.Integer()
    programme_id = f.Integer()
    referrer_member_id = f.Integer()
    referred_customer_id = f.Integer()
    referred_member_id = f.Integer(allow_none=True)
    status = f.String()
    created_at = f.AwareDateTime()
    rewarded_at = f.AwareDateTime(allow_none=True)
