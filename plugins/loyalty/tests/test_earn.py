"""Earning from purchases recorded by anyone, rules as data, once per purchase, refunds reverse."""
from decimal import Decimal

import pytest
from crmkit_loyalty.testing import at, check_books


def test_purchase_enrols_and_earns_with_explicit_rounding(api, app):
    programme = api.programme(rate="1.5", rounding="down", member_prefix="CL")
    ada = api.customer()
    api.purchase(ada["id"], "19.99")  # 29.985 points, rounded down
    member = api.member_of(programme["id"], ada["id"])
    assert member["member_number"] == f"CL{member['id']:09d}"
    assert member["enrolled_via"] == "purchase"
    assert member["points_balance"] == 29
    history = api.statement(member["id"])["history"]
    assert [(t["kind"], t["points"], t["cause"]) for t in history] == [("earn", 29, "purchase")]
    check_books(app)


@pytest.mark.parametrize("mode, expected", [("down", 10), ("up", 11), ("half_up", 11),
                                            ("half_even", 10)])
def test_rounding_modes(api, mode, expected):
    programme = api.programme(rate="1", rounding=mode)
    ada = api.customer()
    api.purchase(ada["id"], "10.50")
    assert api.member_of(programme["id"], ada["id"])["points_balance"] == expected


def test_purchase_in_another_currency_earns_by_its_own_rule_only(api):
    programme = api.programme(rate="1")
    ada = api.customer()
    api.purchase(ada["id"], "100", currency="USD")  # no USD rule: enrolled, nothing earned
    member = api.member_of(programme["id"], ada["id"])
    assert member["points_balance"] == 0
    api.post(f"/loyalty/programmes/{programme['id']}/rules",
             {"kind": "spend", "name": "Dollars", "currency": "USD", "points_per_unit": "2"})
    api.purchase(ada["id"], "100", currency="USD")
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 200


def test_product_and_category_multipliers_apply_per_line(api):
    programme = api.programme(rate="1")
    rules = f"/loyalty/programmes/{programme['id']}/rules"
    api.post(rules, {"kind": "category", "name": "Double on tools", "match": "tools",
                     "multiplier": "2"})
    api.post(rules, {"kind": "product", "name": "Triple on the drill", "match": "DRILL",
                     "multiplier": "3"})
    ada = api.customer()
    # drill 50 x3 = 150, saw (tools) 20 x2 = 40, bread 10 x1 = 10, delivery 5 = 5  -> 205
    api.purchase(ada["id"], "85", lines=[
        {"sku": "DRILL", "name": "Drill", "category": "tools", "unit_price": "50"},
        {"sku": "SAW", "name": "Saw", "category": "tools", "unit_price": "20"},
        {"sku": "BREAD", "name": "Bread", "category": "food", "unit_price": "10"}])
    member = api.member_of(programme["id"], ada["id"])
    assert member["points_balance"] == 205
    # An order-level discount scales the lines down: 40 of 80 -> everything at half weight.
    api.purchase(ada["id"], "40", lines=[
        {"sku": "DRILL", "name": "Drill", "unit_price": "50"},
        {"sku": "BREAD", "name": "Bread", "unit_price": "30"}])
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 205 + 75 + 15


def test_first_purchase_bonus_once_and_interaction_rules_with_caps(api, app):
    programme = api.programme(rate="1")
    rules = f"/loyalty/programmes/{programme['id']}/rules"
    api.post(rules, {"kind": "first_purchase", "name": "Welcome", "points": 100})
    api.post(rules, {"kind": "interaction", "name": "Visit", "match": "visit", "points": 10,
                     "cap_per_day": 15})
    api.post(rules, {"kind": "interaction", "name": "Review", "match": "feedback", "points": 30,
                     "cap_per_month": 50})
    ada = api.customer()
    interactions = f"/customers/{ada['id']}/interactions"
    api.post(interactions, {"type": "visit"})  # not a member yet: a visit alone does not enrol
    api.purchase(ada["id"], "10", when=at(2030, 5, 1, 9))
    api.purchase(ada["id"], "10", when=at(2030, 5, 1, 10))
    member = api.member_of(programme["id"], ada["id"])
    assert member["points_balance"] == 10 + 100 + 10
    for hour in (11, 12, 13):  # 10 + 5 (cap 15 per day) + 0
        api.post(interactions, {"type": "visit", "occurred_at": at(2030, 5, 1, hour).isoformat()})
    api.post(interactions, {"type": "visit", "occurred_at": at(2030, 5, 2, 9).isoformat()})
    for day in (3, 4):  # 30 + 20 (cap 50 per month)
        api.post(interactions, {"type": "feedback",
                                "occurred_at": at(2030, 5, day).isoformat()})
    api.post(interactions, {"type": "feedback", "occurred_at": at(2030, 6, 1).isoformat()})
    statement = api.statement(member["id"])
    assert statement["balance"] == 120 + 15 + 10 + 50 + 30
    causes = [t["cause"] for t in reversed(statement["history"])]
    assert causes.count("first_purchase") == 1
    check_books(app)


def test_a_purchase_earns_once_however_often_it_is_delivered(api, app):
    programme = api.programme(rate="1")
    ada = api.customer()
    purchase = api.purchase(ada["id"], "50", external_id="order-1")
    api.purchase(ada["id"], "50", external_id="order-1")  # the kernel dedupes this one
    # Deliver the same interaction to the hook again, as a retrying importer would.
    from crmkit import db
    from crmkit.customers.models import Interaction
    from crmkit_loyalty.earn import on_interaction
    with app.app_context(), db.connection(), db.write_transaction():
        for _ in range(3):
            on_interaction(Interaction.get_by_id(purchase["id"]))
    assert api.member_of(programme["id"], ada["id"])["points_balance"] == 50
    check_books(app)


def test_refunds_reverse_their_share_of_the_purchase(api, app):
    programme = api.programme(rate="2")
    ada = api.customer()
    purchase = api.purchase(ada["id"], "100")
    member = api.member_of(programme["id"], ada["id"])
    api.refund(ada["id"], "30", purchase_id=purchase["id"])
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 140
    api.refund(ada["id"], "70", purchase_id=purchase["id"])  # the rest: everything left goes
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 0
    api.refund(ada["id"], "10", purchase_id=purchase["id"])  # nothing more to take
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 0
    kinds = [(t["kind"], t["points"]) for t in api.statement(member["id"])["history"]]
    assert kinds == [("reverse", -140), ("reverse", -60), ("earn", 200)]  # the third: nothing
    check_books(app)


def test_refund_of_spent_points_is_owed_and_taken_from_next_earnings(api, app):
    programme = api.programme(rate="1")
    api.post(f"/loyalty/programmes/{programme['id']}/rewards",
             {"name": "Mug", "kind": "free_product", "sku": "MUG", "points_cost": 80})
    ada = api.customer()
    purchase = api.purchase(ada["id"], "100")
    member = api.member_of(programme["id"], ada["id"])
    reward_id = api.get(f"/loyalty/programmes/{programme['id']}/rewards")[0]["id"]
    api.post(f"/loyalty/members/{member['id']}/redemptions", {"reward_id": reward_id})
    api.refund(ada["id"], "100", purchase_id=purchase["id"])
    after = api.get(f"/loyalty/members/{member['id']}")
    assert (after["points_balance"], after["points_owed"]) == (0, 80)
    api.purchase(ada["id"], "50")
    after = api.get(f"/loyalty/members/{member['id']}")
    assert (after["points_balance"], after["points_owed"]) == (0, 30)
    api.purchase(ada["id"], "50")
    after = api.get(f"/loyalty/members/{member['id']}")
    assert (after["points_balance"], after["points_owed"]) == (20, 0)
    check_books(app)


def test_refund_without_a_linked_purchase_reverses_its_amount_at_the_base_rate(api):
    programme = api.programme(rate="1")
    ada = api.customer()
    api.purchase(ada["id"], "100")
    api.refund(ada["id"], "25")
    assert api.member_of(programme["id"], ada["id"])["points_balance"] == 75


def test_pending_points_cannot_be_spent_until_the_return_window_ends(api, app):
    programme = api.programme(rate="1", pending_days=30)
    api.post(f"/loyalty/programmes/{programme['id']}/rewards",
             {"name": "Mug", "kind": "free_product", "sku": "MUG", "points_cost": 50})
    reward_id = api.get(f"/loyalty/programmes/{programme['id']}/rewards")[0]["id"]
    ada = api.customer()
    api.purchase(ada["id"], "100")
    member = api.member_of(programme["id"], ada["id"])
    statement = api.statement(member["id"])
    assert (statement["balance"], statement["available"], statement["pending"]) == (100, 0, 100)
    assert len(statement["pending_until"]) == 1
    refused = api.post(f"/loyalty/members/{member['id']}/redemptions", {"reward_id": reward_id},
                       expect=409)
    assert "0 available" in refused["message"] and "100 pending" in refused["message"]
    assert refused["available"] == 0 and refused["balance"] == 100 and refused["needed"] == 50
    # A purchase long ago has served its return window already.
    api.purchase(ada["id"], "60", when=at(2001, 1, 1))
    api.post(f"/loyalty/members/{member['id']}/redemptions", {"reward_id": reward_id})
    assert api.statement(member["id"])["available"] == 10
    check_books(app)


def test_programme_window_and_switched_off_rules(api):
    programme = api.programme(rate="1", starts_at=at(2030, 1, 1).isoformat())
    ada = api.customer()
    api.purchase(ada["id"], "10", when=at(2029, 12, 31))  # before the programme: nothing
    assert api.get(f"/loyalty/programmes/{programme['id']}/members")["items"] == []
    api.purchase(ada["id"], "10", when=at(2030, 1, 2))
    member = api.member_of(programme["id"], ada["id"])
    assert member["points_balance"] == 10
    rule = api.get(f"/loyalty/programmes/{programme['id']}/rules")[0]
    api.patch(f"/loyalty/programmes/{programme['id']}/rules/{rule['id']}", {"active": False})
    api.purchase(ada["id"], "10", when=at(2030, 1, 3))
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 10


def test_no_auto_enrolment_means_only_members_earn(api):
    programme = api.programme(rate="1", auto_enrol=False)
    ada, bob = api.customer(), api.customer("Bob Stone")
    api.post(f"/loyalty/programmes/{programme['id']}/members", {"customer_id": bob["id"]})
    api.purchase(ada["id"], "10")
    api.purchase(bob["id"], "10")
    members = api.get(f"/loyalty/programmes/{programme['id']}/members")["items"]
    assert [(m["customer_id"], m["points_balance"]) for m in members] == [(bob["id"], 10)]
    again = api.post(f"/loyalty/programmes/{programme['id']}/members",
                     {"customer_id": bob["id"]}, expect=409)
    assert members[0]["member_number"] in again["message"]


def test_decimal_rates_are_exact(api):
    programme = api.programme(rate="0.1", rounding="down")
    ada = api.customer()
    for _ in range(3):
        api.purchase(ada["id"], "10.00")  # 0.1 * 10 = exactly 1 each time, never 0.999...
    assert api.member_of(programme["id"], ada["id"])["points_balance"] == 3
    assert Decimal("0.1") * 3 == Decimal("0.3")
