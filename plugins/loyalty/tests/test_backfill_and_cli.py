"""The backfill (same points as live earning, never twice) and the command line."""
import json
import random
from decimal import Decimal

from loyalty_testkit import at, check_books

from crmkit import db


def history(app):
    """Customers' purchases and what each earned, from the ledger."""
    from crmkit_loyalty.models import Member, Transaction
    with app.app_context(), db.connection():
        return sorted((m.customer_id, t.interaction_id, t.kind, t.cause, t.points,
                       t.qualifying_points, str(t.available_at), str(t.expires_at))
                      for t in Transaction.select(Transaction, Member).join(Member))


def build_history(api, customers=12, seed=3):
    rng = random.Random(seed)
    people = [api.customer(f"Person {i}") for i in range(customers)]
    for person in people:
        purchases = []
        for _ in range(rng.randint(1, 6)):
            when = at(2030, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23))
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


RULES = [{"kind": "spend", "name": "Base", "points_per_unit": "1.5"},
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


def test_backfill_awards_what_live_earning_would_have(make_app, api, app):
    # Live: the programme exists first, purchases earn as they are recorded.
    make_programme(api)
    build_history(api)
    live = history(app)
    assert live
    # Backfill: the same history recorded first, in a second database, the programme after.
    other = make_app(DATABASE_URL=_second_database(app))
    from loyalty_testkit import Api
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
    assert _without_times(history(other)) == _without_times(live)
    check_books(other)


def _without_times(rows):
    # Live earning stamps "now" on what the backfill stamps with its run; the rest must match.
    return rows


def _second_database(app):
    url = app.config["CRMKIT_DATABASE_URL"]
    if url.startswith("sqlite"):
        return url.replace("crmkit-test.db", "crmkit-second.db")
    from crmkit.testing import PostgresSchema, configured_test_database
    schema = PostgresSchema(configured_test_database())
    app.extensions.setdefault("loyalty_test_schemas", []).append(schema)
    return schema.url


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
    api.purchase(ada["id"], "60", when=at(2020, 1, 1))  # earned before: backfill not needed
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
    ok(["loyalty", "members", "adjust", number, "--", "-5", "--reason", "Typo fixed"])
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
    from crmkit_loyalty.models import Member, Programme, Redemption
    with app.app_context(), db.connection():
        club = Programme.get(Programme.code == "club")
        members = Member.select().where(Member.programme == club)
        assert members.count() > 0
        assert any(m.points_balance > 0 for m in members)
        assert Redemption.select().count() >= 0
    check_books(app)


def test_migrations_build_the_models(make_app):
    from crmkit.testing import assert_migrations_build_the_models
    assert_migrations_build_the_models(make_app(upgrade=False))
