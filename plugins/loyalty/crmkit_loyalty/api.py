"""HTTP door, mounted under /api/v1/loyalty. Thin: every rule lives in the domain modules.

Three blueprints, three sets of permissions: programme administration (rules, tiers, rewards),
members (statements, redemptions, referrals, adjustments) and vouchers (the till). Redemption is a
POST, so the kernel's ``Idempotency-Key`` makes a retried redemption return the first voucher.
"""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth.declare import protect, requires
from crmkit.auth.principal import current_principal
from crmkit.auth.scoping import check_visible, scope_condition
from crmkit.customers.models import Customer
from crmkit_loyalty import members, programmes, referrals, rewards, statement, tiers
from crmkit_loyalty import schemas as s
from crmkit_loyalty.models import Member

admin = protect(Blueprint("loyalty_programmes", __name__, url_prefix="/programmes",
                          description="Loyalty programmes: earn rules, tiers, rewards"),
                read="loyalty.programmes:read", write="loyalty.programmes:manage")
people = protect(Blueprint("loyalty_members", __name__,
                           description="Loyalty members: statements, redemptions, referrals"),
                 read="loyalty.members:read", write="loyalty.members:write")
till = protect(Blueprint("loyalty_vouchers", __name__, url_prefix="/vouchers",
                         description="Vouchers: check and consume at the till"),
               read="loyalty.vouchers:read", write="loyalty.vouchers:write")

BLUEPRINTS = [admin, people, till]


def _max_page() -> int:
    return int(current_app.config["CRMKIT_MAX_PAGE_SIZE"])


def _actor() -> str | None:
    principal = current_principal()
    return principal.label if principal is not None else None


def _member(member_id: int) -> Member:
    """The member, if the caller may see its customer; the same 404 as a missing one otherwise."""
    member = members.get_member(member_id)
    check_visible(Customer.get_or_none(Customer.id == member.customer_id), label="member",
                  record_id=member_id)
    return member


def _visible_customers():
    condition = scope_condition(Customer)
    return None if condition is None else Customer.select(Customer.id).where(condition)


# -- programmes -----------------------------------------------------------------------------------

@admin.route("")
class Programmes(MethodView):
    @admin.response(200, s.ProgrammeOut(many=True))
    def get(self):
        """All programmes."""
        return programmes.list_programmes()

    @admin.arguments(s.ProgrammeIn)
    @admin.response(201, s.ProgrammeOut)
    def post(self, data):
        """Create a programme: currency, points name, expiry and tier policies."""
        return programmes.create_programme(data)


@admin.route("/<int:programme_id>")
class ProgrammeItem(MethodView):
    @admin.response(200, s.ProgrammeOut)
    def get(self, programme_id):
        return programmes.get_programme(programme_id)

    @admin.arguments(s.ProgrammePatch)
    @admin.response(200, s.ProgrammeOut)
    def patch(self, data, programme_id):
        """Change policies; they apply to what is earned and evaluated from now on."""
        return programmes.update_programme(programmes.get_programme(programme_id), data)


@admin.route("/<int:programme_id>/rules")
class Rules(MethodView):
    @admin.response(200, s.RuleOut(many=True))
    def get(self, programme_id):
        """Earn rules: spend, product, category, interaction, first_purchase."""
        return programmes.list_rules(programmes.get_programme(programme_id))

    @admin.arguments(s.RuleIn)
    @admin.response(201, s.RuleOut)
    def post(self, data, programme_id):
        """Add an earn rule; each kind names the fields it uses."""
        return programmes.create_rule(programmes.get_programme(programme_id), data)


@admin.route("/<int:programme_id>/rules/<int:rule_id>")
class RuleItem(MethodView):
    @admin.response(200, s.RuleOut)
    def get(self, programme_id, rule_id):
        return programmes.get_rule(programmes.get_programme(programme_id), rule_id)

    @admin.arguments(s.RulePatch)
    @admin.response(200, s.RuleOut)
    def patch(self, data, programme_id, rule_id):
        """Change a rule or switch it off (``active: false``); rules are never deleted, so the
        ledger can always name the rule that paid."""
        return programmes.update_rule(
            programmes.get_rule(programmes.get_programme(programme_id), rule_id), data)


@admin.route("/<int:programme_id>/tiers")
class Tiers(MethodView):
    @admin.response(200, s.TierOut(many=True))
    def get(self, programme_id):
        return programmes.list_tiers(programmes.get_programme(programme_id))

    @admin.arguments(s.TierIn)
    @admin.response(201, s.TierOut)
    def post(self, data, programme_id):
        """Add a tier; thresholds must rise with rank."""
        return programmes.create_tier(programmes.get_programme(programme_id), data)


@admin.route("/<int:programme_id>/tiers/<int:tier_id>")
class TierItem(MethodView):
    @admin.response(200, s.TierOut)
    def get(self, programme_id, tier_id):
        return programmes.get_tier(programmes.get_programme(programme_id), tier_id)

    @admin.arguments(s.TierPatch)
    @admin.response(200, s.TierOut)
    def patch(self, data, programme_id, tier_id):
        return programmes.update_tier(
            programmes.get_tier(programmes.get_programme(programme_id), tier_id), data)

    @admin.response(204)
    def delete(self, programme_id, tier_id):
        """Delete a tier nobody holds (409 otherwise)."""
        programmes.delete_tier(programmes.get_tier(programmes.get_programme(programme_id),
                                                   tier_id))


@admin.route("/<int:programme_id>/tier-evaluations")
class TierEvaluations(MethodView):
    @admin.arguments(s.EvaluateIn)
    @admin.response(200, s.EvaluationOut)
    def post(self, data, programme_id):
        """Evaluate every member's tier now (or as at ``as_of``), in SQL."""
        return tiers.evaluate_tiers(programmes.get_programme(programme_id), data.get("as_of"))


@admin.route("/<int:programme_id>/rewards")
class Rewards(MethodView):
    @admin.arguments(s.RewardListArgs, location="query")
    @admin.response(200, s.RewardOut(many=True))
    def get(self, args, programme_id):
        """The catalogue, cheapest first."""
        return rewards.list_rewards(programmes.get_programme(programme_id), args.get("active"))

    @admin.arguments(s.RewardIn)
    @admin.response(201, s.RewardOut)
    def post(self, data, programme_id):
        """Add a reward: a voucher (amount or percent), a free product, an upgrade, a ticket."""
        return rewards.create_reward(programmes.get_programme(programme_id), data)


@admin.route("/<int:programme_id>/rewards/<int:reward_id>")
class RewardItem(MethodView):
    @admin.response(200, s.RewardOut)
    def get(self, programme_id, reward_id):
        return rewards.get_reward(reward_id, programmes.get_programme(programme_id))

    @admin.arguments(s.RewardPatch)
    @admin.response(200, s.RewardOut)
    def patch(self, data, programme_id, reward_id):
        """Change a reward; ``stock`` sets what is left (null: unlimited)."""
        programme = programmes.get_programme(programme_id)
        return rewards.update_reward(rewards.get_reward(reward_id, programme), data)


# -- members --------------------------------------------------------------------------------------

@people.route("/programmes/<int:programme_id>/members")
class Members(MethodView):
    @people.arguments(s.MemberListArgs, location="query")
    @people.response(200, s.MemberPage)
    def get(self, args, programme_id):
        """Members by id; filter by customer, tier, status or number."""
        programme = programmes.get_programme(programme_id)
        page = members.list_members(programme, args, _max_page(), _visible_customers())
        return {"items": [statement.member_dict(m, programme) for m in page.items],
                "next_cursor": page.next_cursor, "limit": page.limit}

    @people.arguments(s.EnrolIn)
    @people.response(201, s.MemberOut)
    def post(self, data, programme_id):
        """Enrol a customer (409 naming the member if they are one already)."""
        check_visible(Customer.get_or_none(Customer.id == data["customer_id"]), label="customer",
                      record_id=data["customer_id"])
        programme = programmes.get_programme(programme_id)
        return statement.member_dict(members.enrol_by_request(programme, data["customer_id"]),
                                     programme)


@people.route("/members/<int:member_id>")
class MemberItem(MethodView):
    @people.response(200, s.MemberOut)
    def get(self, member_id):
        return statement.member_dict(_member(member_id))


@people.route("/members/<int:member_id>/statement")
class MemberStatement(MethodView):
    @people.response(200, s.StatementOut)
    def get(self, member_id):
        """Balance, available, pending (and until when), expiring soon with dates, recent
        history, open vouchers, tier and progress to the next."""
        return statement.statement(_member(member_id))


@people.route("/members/<int:member_id>/transactions")
class MemberTransactions(MethodView):
    @people.arguments(s.TransactionListArgs, location="query")
    @people.response(200, s.TransactionPage)
    def get(self, args, member_id):
        """The ledger, newest first."""
        page = statement.transactions_page(_member(member_id), args, _max_page())
        return {"items": [statement.transaction_dict(t) for t in page.items],
                "next_cursor": page.next_cursor, "limit": page.limit}


@people.route("/members/<int:member_id>/tier-history")
class MemberTierHistory(MethodView):
    @people.response(200, s.TierChangeOut(many=True))
    def get(self, member_id):
        return tiers.history(_member(member_id))


@people.route("/members/<int:member_id>/adjustments")
class MemberAdjustments(MethodView):
    @requires("loyalty.points:adjust")
    @people.arguments(s.AdjustIn)
    @people.response(201, s.TransactionOut)
    def post(self, data, member_id):
        """Add or take points by hand, with a reason (kept in the ledger with who did it)."""
        member = _member(member_id)
        tx = members.adjust_points(member.id, data["points"], data["reason"], _actor())
        return statement.transaction_dict(tx)


@people.route("/members/<int:member_id>/redemptions")
class MemberRedemptions(MethodView):
    @people.response(200, s.RedemptionOut(many=True))
    def get(self, member_id):
        return [rewards.redemption_dict(r) for r in rewards.list_redemptions(_member(member_id))]

    @people.arguments(s.RedeemIn)
    @people.response(201, s.RedemptionOut)
    def post(self, data, member_id):
        """Redeem a reward: points are spent soonest-expiring first and a voucher is issued.
        409 when the points or the stock do not suffice (the body says the balance). Send an
        ``Idempotency-Key`` header: a retry then returns the same voucher."""
        member = _member(member_id)
        redemption = rewards.redeem(member.id, data["reward_id"], actor=_actor())
        return {**rewards.redemption_dict(redemption), "valid": True}


@people.route("/redemptions/<int:redemption_id>/cancel")
class RedemptionCancel(MethodView):
    @people.response(200, s.RedemptionOut)
    def post(self, redemption_id):
        """Cancel an unused voucher: its points go back, its stock too."""
        _member(rewards.get_redemption(redemption_id).member_id)
        return rewards.redemption_dict(rewards.cancel_redemption(redemption_id))


@people.route("/members/<int:member_id>/referral-code")
class MemberReferralCode(MethodView):
    @people.response(200, s.ReferralCodeOut)
    def post(self, member_id):
        """The member's referral code, made on first request."""
        member = _member(member_id)
        return {"member_id": member.id, "referral_code": members.referral_code(member)}


@people.route("/members/<int:member_id>/referrals")
class MemberReferrals(MethodView):
    @people.response(200, s.ReferralOut(many=True))
    def get(self, member_id):
        return [referrals.referral_dict(r) for r in referrals.referrals_of(_member(member_id))]


@people.route("/programmes/<int:programme_id>/referrals")
class ProgrammeReferrals(MethodView):
    @people.arguments(s.ReferIn)
    @people.response(201, s.ReferralOut)
    def post(self, data, programme_id):
        """Record a referral by code for a customer who has not bought yet; both are rewarded
        when that customer's first purchase lands."""
        check_visible(Customer.get_or_none(Customer.id == data["customer_id"]), label="customer",
                      record_id=data["customer_id"])
        referral = referrals.refer(programmes.get_programme(programme_id), data["code"],
                                   data["customer_id"])
        return referrals.referral_dict(referral)


@people.route("/customers/<int:customer_id>/memberships")
class CustomerMemberships(MethodView):
    @people.response(200, s.MemberOut(many=True))
    def get(self, customer_id):
        """The customer's memberships, one per programme."""
        check_visible(Customer.get_or_none(Customer.id == customer_id), label="customer",
                      record_id=customer_id)
        return [statement.member_dict(m) for m in
                Member.select().where(Member.customer_id == customer_id).order_by(Member.id)]


# -- vouchers -------------------------------------------------------------------------------------

@till.route("/<string:code>")
class Voucher(MethodView):
    @till.response(200, s.RedemptionOut)
    def get(self, code):
        """What a voucher is and whether it can be used now (``valid``); changes nothing."""
        return rewards.check_voucher(code)


@till.route("/<string:code>/consume")
class VoucherConsume(MethodView):
    @till.arguments(s.ConsumeIn)
    @till.response(200, s.RedemptionOut)
    def post(self, data, code):
        """Use a voucher once (409 when consumed, cancelled or expired)."""
        return rewards.redemption_dict(rewards.consume_voucher(code, data.get("reference")))
