"""The backfill (same points as live earning, never twice) and the command line."""
import json
import random
from decimal import Decimal

import pytest

from crmkit_loyalty.testing import at, check_books

from crmkit import db


def history(app):
    """Customers' purchases and what each earned, from the ledger."""
    from crmkit_loyalty.models import Member, Transaction
    with app.app_context(), db.connection():
        return sorted((t.member.customer_id, t.interaction_id, t.kind, t.cause, t.points,
                       t.qualifying_points, str(t.available_at), str(t.expires_at))
                      for t in Transaction.select(Transaction, Member).join(Member))


def monthly_purchase_points(app):
    from collections import Counter

    from crmkit_loyalty.models import Transaction
    with app.app_context(), db.connection():
        totals = Counter()
        for t in Transaction.select().where(Transaction.cause == "purchase"):
            totals[(t.member_id, t.occurred_at.year, t.occurred_at.month)] += t.points
    return totals.values()


def build_history(api, customers=12, seed=3):
    rng = random.Random(seed)
    people = [api.customer(f"Person {i}") for i in range(customers)]
    for person in people:
        purchases = []
        # Recorded in the order they happened, as a till would (live earning's "first purchase"
        # is the first one recorded).
        for when in sorted(at(2030, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23))
                           for _ in range(rng.randint(1, 6))):
            lines = [{"sku": rng.choice(["DRILL", "SAW", "GLUE"]),
                      "category": rng.choice(["tools", "misc"]),
                      "name": "x", "unit_price": str(rng.randint(1, 90)),
                      "quantity": rng.randint(1, 3)} for _ in range(rng.randint(0, 3))]
            amount = sum(Decimal(li["unit_price"]) * li["quantity"] for li in lines) or \
                Decimal(rng.randint(5, 200))
            purchases.append(api.purchase(person["id"], amount, when=when, lines=lines or None))
        if rng.random() < 0.4:
            api.refund(person["id"], "3.50", purchase_id=rng.choice(purchases)["id"],
                       when=at(2031, 1, 5))
    return people


RULES = [{"kind": "spend", "name": "Base", "points_per_unit": "1.5", "cap_per_month": 400},
         {"kind": "category", "name": "Tools", "match": "tools", "multiplier": "2"},
         {"kind": "product", "name": "Glue", "match": "GLUE", "multiplier": "3"},
         {"kind": "first_purchase", "name": "Welcome", "points": 50}]
POLICY = {"rounding": "half_even", "pending_days": 14, "expiry_policy": "month_end",
          "expiry_period": 6}


def make_programme(api):
    programme = api.programme(rate=None, **POLICY)
    for rule in RULES:
        api.post(f"/loyalty/programmes/{programme['id']}/rules", rule)
    return programme


@pytest.fixture
def second_app(make_app, tmp_path):
    """``second_app()``: another app on a database of its own (a file, or a schema on the test
    server). The database is process-wide, so the first app is done with once this is called."""
    from crmkit.db import release_connections
    from crmkit.testing import PostgresSchema, configured_test_database
    server = configured_test_database()
    schema = PostgresSchema(server) if (server or "").startswith("postgres") else None
    url = schema.url if schema else f"sqlite:///{tmp_path / 'second.db'}"
    yield lambda: make_app(DATABASE_URL=url)
    if schema is not None:
        release_connections()
        schema.drop()


def test_backfill_awards_what_live_earning_would_have(second_app, api, app):
    # Live: the programme exists first, purchases earn as they are recorded.
    make_programme(api)
    build_history(api)
    live = history(app)
    assert max(monthly_purchase_points(app)) == 400  # the cap bit somewhere
    # Backfill: the same history recorded first, in a second database, the programme after.
    check_books(app)
    other = second_app()
    from crmkit_loyalty.testing import Api
    other_api = Api(other.test_client())
    build_history(other_api)
    programme = make_programme(other_api)
    from crmkit_loyalty.backfill import backfill
    from crmkit_loyalty.models import Programme
    with other.app_context(), db.connection():
        result = backfill(Programme.get_by_id(programme["id"]), batch_members=5)
        assert result.enrolled == 12 and result.refunds > 0
        again = backfill(Programme.get_by_id(programme["id"]))  # safe to run twice
        assert (again.enrolled, again.transactions, again.points) == (0, 0, 0)
    assert history(other) == live
    assert max(monthly_purchase_points(other)) == 400
    check_books(other)


def test_cli_configures_runs_and_reports(api, app, runner):
    def ok(args):
        result = runner.invoke(args)
        assert result.exit_code == 0, result.output
        return result.output

    programme = {"code": "club", "name": "Club", "currency": "EUR", "member_prefix": "C"}
    assert "created" in ok(["loyalty", "programmes", "create", "--data", json.dumps(programme)])
    ok(["loyalty", "rules", "add", "club", "--data",
        json.dumps({"kind": "spend", "name": "Base", "points_per_unit": "2"})])
    ok(["loyalty", "tiers", "add", "club", "--data",
        json.dumps({"name": "Blue", "rank": 0, "threshold": "0"})])
    ok(["loyalty", "tiers", "add", "club", "--data",
        json.dumps({"name": "Gold", "rank": 1, "threshold": "100"})])
    ok(["loyalty", "rewards", "add", "club", "--data",
        json.dumps({"name": "Mug", "kind": "free_product", "sku": "MUG", "points_cost": 30})])
    bad = runner.invoke(["loyalty", "rules", "add", "club", "--data",
                         json.dumps({"kind": "spend", "name": "x"})])
    assert bad.exit_code == 1 and "points_per_unit" in bad.output
    ada = api.customer()
    api.purchase(ada["id"], "60")  # the programme exists: this earns live
    member = api.member_of(1, ada["id"])
    number = member["member_number"]
    assert number == f"C{member['id']:09d}"
    out = ok(["loyalty", "members", "statement", number])
    assert "balance 120 points" in out and "tier Gold" in out
    assert json.loads(ok(["loyalty", "members", "statement", number, "--json"]))["balance"] == 120
    voucher = ok(["loyalty", "members", "redeem", number, "1"]).split()[1]
    assert "Mug, issued" in ok(["loyalty", "vouchers", "check", voucher])
    ok(["loyalty", "vouchers", "consume", voucher, "--reference", "till 3"])
    used = runner.invoke(["loyalty", "vouchers", "consume", voucher])
    assert used.exit_code == 1 and "consumed" in used.output
    ok(["loyalty", "members", "adjust", "--reason", "Typo fixed", number, "--", "-5"])
    short = runner.invoke(["loyalty", "members", "redeem", number, "1"])
    assert short.exit_code == 0 or "Not enough points" in short.output
    assert "books agree" in ok(["loyalty", "check"])
    assert "Gold" in ok(["loyalty", "tiers", "list", "club"])
    assert "Mug" in ok(["loyalty", "rewards", "list", "club"])
    assert "club" in ok(["loyalty", "programmes", "list"])
    assert "0 member(s) changed tier" in ok(["loyalty", "tiers", "evaluate", "club"])
    assert "enrolled 0" in ok(["loyalty", "backfill", "club"])
    assert "expired" in ok(["loyalty", "expire"])
    unknown = runner.invoke(["loyalty", "members", "statement", "999"])
    assert unknown.exit_code == 1 and "No member" in unknown.output
    check_books(app)


def test_demo_data(runner, app):
    result = runner.invoke(["demo", "--size", "30"])
    assert result.exit_code == 0, result.output
    assert "loyalty: demo data loaded" in result.output
    from crmkit_loyalty.models import Member, Programme, Reward
    with app.app_context(), db.connection():
        club = Programme.get(Programme.code == "club")
        members = list(Member.select().where(Member.programme == club))
        assert members and any(m.points_balance > 0 for m in members)
        assert all(m.tier_id is not None for m in members)  # evaluated after the backfill
        assert Reward.select().where(Reward.programme == club).count() == 5
    check_books(app)


def test_migrations_build_the_models(make_app):
    from crmkit.testing import assert_migrations_build_the_models
    assert_migrations_build_the_models(make_app(upgrade=False))


def test_backfill_rewards_referrals_and_first_purchases_of_a_programme_switched_on_late(api,
                                                                                       app):
    programme = api.programme(rate="1", active=False, referrer_points=30, referred_points=20)
    api.post(f"/loyalty/programmes/{programme['id']}/rules",
             {"kind": "first_purchase", "name": "Welcome", "points": 5})
    ada, bob = api.customer("Ada A"), api.customer("Bob B")
    ada_member = api.post(f"/loyalty/programmes/{programme['id']}/members",
                          {"customer_id": ada["id"]})
    code = api.post(f"/loyalty/members/{ada_member['id']}/referral-code",
                    expect=200)["referral_code"]
    api.post(f"/loyalty/programmes/{programme['id']}/referrals",
             {"code": code, "customer_id": bob["id"]})
    api.purchase(bob["id"], "10", when=at(2030, 1, 2))  # the programme is off: nothing earned
    api.purchase(bob["id"], "10", when=at(2030, 1, 1))
    bob_member = api.member_of(programme["id"], bob["id"])
    assert bob_member["points_balance"] == 0
    api.patch(f"/loyalty/programmes/{programme['id']}", {"active": True})
    from crmkit_loyalty.backfill import backfill
    from crmkit_loyalty.models import Programme
    with app.app_context(), db.connection():
        result = backfill(Programme.get_by_id(programme["id"]))
    assert (result.purchases, result.transactions, result.points) == (2, 3, 25)
    bob_member = api.get(f"/loyalty/members/{bob_member['id']}")
    assert bob_member["points_balance"] == 20 + 5 + 20
    assert bob_member["first_purchase_at"].startswith("2030-01-01")
    assert api.get(f"/loyalty/members/{ada_member['id']}")["points_balance"] == 30
    check_books(app)
