"""Tiers: a published scheme configured through the API alone, members moving up and down over
the years; the other measures, windows and downgrade policies; set-based evaluation."""
import datetime as dt
import random
from decimal import Decimal

import pytest
from crmkit_loyalty.testing import at

# The scheme as a programme would publish it: "Earn 1 point per euro. Your status for the year
# follows the points you earned in the previous calendar year (or this year, if more); a status
# you reach is yours until the end of the following year."
SCHEME = {
    "programme": {"code": "riverside", "name": "Riverside Rewards", "currency": "EUR",
                  "tier_measure": "points", "tier_window": "calendar_year",
                  "tier_downgrade": "end_of_next_period", "tier_schedule": "yearly",
                  "upgrade_on_earn": False, "expiry_policy": "year_end", "expiry_period": 2},
    "rules": [{"kind": "spend", "name": "1 point per euro", "points_per_unit": "1"}],
    "tiers": [
        {"name": "Bronze", "rank": 0, "threshold": "0"},
        {"name": "Silver", "rank": 1, "threshold": "1000", "earn_multiplier": "1.25",
         "discount_percent": "2", "perks": ["priority_booking"]},
        {"name": "Gold", "rank": 2, "threshold": "3000", "earn_multiplier": "1.5",
         "discount_percent": "5", "perks": ["priority_booking", "lounge"]},
        {"name": "Platinum", "rank": 3, "threshold": "8000", "earn_multiplier": "2",
         "discount_percent": "10", "perks": ["priority_booking", "lounge", "concierge"]},
    ],
}


def configure(api, scheme=SCHEME):
    programme = api.post("/loyalty/programmes", scheme["programme"])
    base = f"/loyalty/programmes/{programme['id']}"
    for rule in scheme["rules"]:
        api.post(f"{base}/rules", rule)
    tiers = {t["name"]: api.post(f"{base}/tiers", t) for t in scheme["tiers"]}
    return programme, tiers


def tiers_of(api, programme_id, people):
    members = {m["customer_id"]: m for m in
               api.get(f"/loyalty/programmes/{programme_id}/members?limit=200")["items"]}
    return {name: (members[c["id"]]["tier"] or {}).get("name") for name, c in people.items()}


def evaluate(api, programme_id, when):
    return api.post(f"/loyalty/programmes/{programme_id}/tier-evaluations",
                    {"as_of": when.isoformat()}, expect=200)


def test_published_scheme_over_three_years(api, app):
    programme, tiers = configure(api)
    pid = programme["id"]
    people = {name: api.customer(f"{name} Example") for name in ("Ann", "Ben", "Cat", "Dan")}

    def spend(name, amount, when):
        api.purchase(people[name]["id"], amount, when=when)

    # 2041: everybody joins with a first purchase and starts in Bronze.
    spend("Ann", "3500", at(2041, 3, 1))
    spend("Ben", "1200", at(2041, 5, 1))
    spend("Cat", "9000", at(2041, 6, 1))
    spend("Dan", "200", at(2041, 7, 1))
    assert tiers_of(api, pid, people) == dict.fromkeys(people, "Bronze")

    # The evaluation on January 1st awards the 2041 statuses.
    result = evaluate(api, pid, at(2042, 1, 1))
    assert (result["changed"], result["upgraded"], result["downgraded"]) == (3, 3, 0)
    assert tiers_of(api, pid, people) == {"Ann": "Gold", "Ben": "Silver", "Cat": "Platinum",
                                          "Dan": "Bronze"}
    ann = api.member_of(pid, people["Ann"]["id"])

    # 2042: Gold earns 1.5 points per euro, but tiers count base points only.
    spend("Ann", "1500", at(2042, 2, 1))
    assert api.get(f"/loyalty/members/{ann['id']}")["points_balance"] == 3500 + 2250
    spend("Ben", "3200", at(2042, 4, 1))
    spend("Dan", "1000", at(2042, 5, 1))
    # A mid-year evaluation upgrades at once (Ben, Dan) and downgrades nobody: Ann keeps
    # Gold through 2042 and Cat Platinum, whatever they earn this year.
    result = evaluate(api, pid, at(2042, 7, 1))
    assert (result["upgraded"], result["downgraded"]) == (2, 0)
    assert tiers_of(api, pid, people) == {"Ann": "Gold", "Ben": "Gold", "Cat": "Platinum",
                                          "Dan": "Silver"}
    # Re-running the same evaluation changes nothing.
    assert evaluate(api, pid, at(2042, 7, 1))["changed"] == 0

    # January 2043: statuses follow 2042. Ann falls to Silver, Cat to Bronze (earned nothing).
    result = evaluate(api, pid, at(2043, 1, 1))
    assert (result["upgraded"], result["downgraded"]) == (0, 2)
    assert tiers_of(api, pid, people) == {"Ann": "Silver", "Ben": "Gold", "Cat": "Bronze",
                                          "Dan": "Silver"}

    # 2043 is quiet, so January 2044 brings everybody back to Bronze.
    evaluate(api, pid, at(2044, 1, 1))
    assert tiers_of(api, pid, people) == dict.fromkeys(people, "Bronze")

    history = api.get(f"/loyalty/members/{ann['id']}/tier-history")
    assert [(h["from"], h["to"], h["changed_at"][:10]) for h in history] == [
        (None, "Bronze", history[0]["changed_at"][:10]), ("Bronze", "Gold", "2042-01-01"),
        ("Gold", "Silver", "2043-01-01"), ("Silver", "Bronze", "2044-01-01")]
    assert history[1]["measure"] == "3500.0000"
    events = api.get("/events?type=loyalty.tier.changed&limit=100")["events"]
    cat = [e["payload"] for e in events if e["payload"]["customer_id"] == people["Cat"]["id"]]
    assert [(e["from"], e["to"], e["direction"]) for e in cat] == [
        ("Bronze", "Platinum", "up"), ("Platinum", "Bronze", "down")]


def test_statement_shows_progress_to_the_next_tier(api):
    programme, _ = configure(api)
    ann = api.customer("Ann Example")
    now = dt.datetime.now(dt.timezone.utc)
    api.purchase(ann["id"], "1200", when=now - dt.timedelta(minutes=5))
    member = api.member_of(programme["id"], ann["id"])
    api.post(f"/loyalty/programmes/{programme['id']}/tier-evaluations", {}, expect=200)
    progress = api.statement(member["id"])["tier"]
    assert progress["tier"]["name"] == "Silver" and progress["value"] == "1200"
    assert progress["next"]["tier"]["name"] == "Gold"
    assert progress["next"]["remaining"] == "1800.0000"
    assert progress["window_start"].startswith(f"{now.year}-01-01")
    assert progress["kept_until"].startswith(f"{now.year + 2}-01-01")  # earned this year


def test_benefits_and_profile_section_come_from_the_tier(api, app):
    programme, _ = configure(api)
    ann = api.customer("Ann Example")
    api.purchase(ann["id"], "4000", when=at(2041, 3, 1))
    evaluate(api, programme["id"], at(2042, 1, 1))
    from crmkit import db
    from crmkit.benefits import benefits_for, best_discount_percent
    from crmkit.customers.models import Customer
    with app.app_context(), db.connection():
        benefits = benefits_for(Customer.get_by_id(ann["id"]), {"purpose": "quote"})
    assert best_discount_percent(benefits) == Decimal(5)
    assert [b["value"] for b in benefits if b["kind"] == "perk"] == ["priority_booking", "lounge"]
    assert {b["source"] for b in benefits} == {"loyalty"}
    assert benefits[0]["label"] == "Riverside Rewards Gold: 5% off"
    section = api.get(f"/customers/{ann['id']}/profile")["sections"]["loyalty"]
    assert section["memberships"][0]["tier"] == "Gold"
    assert section["memberships"][0]["balance"] == 4000


def test_immediate_downgrade_over_a_rolling_window_of_amount_spent(api):
    programme, _ = configure(api, {
        "programme": {"code": "spenders", "name": "Spenders", "currency": "EUR",
                      "tier_measure": "amount", "tier_window": "rolling", "tier_window_days": 90,
                      "tier_downgrade": "immediate", "upgrade_on_earn": False},
        "rules": [],
        "tiers": [{"name": "Member", "rank": 0, "threshold": "0"},
                  {"name": "VIP", "rank": 1, "threshold": "500.50"}],
    })
    pid = programme["id"]
    ann = api.customer("Ann Example")
    purchase = api.purchase(ann["id"], "400.25", when=at(2041, 1, 10))
    api.purchase(ann["id"], "100.25", when=at(2041, 2, 10))  # 500.50 in 90 days: exactly VIP
    evaluate(api, pid, at(2041, 3, 1))
    assert tiers_of(api, pid, {"Ann": ann}) == {"Ann": "VIP"}
    api.refund(ann["id"], "0.01", purchase_id=purchase["id"], when=at(2041, 3, 2))
    evaluate(api, pid, at(2041, 3, 3))  # a cent refunded: below the line, down at once
    assert tiers_of(api, pid, {"Ann": ann}) == {"Ann": "Member"}
    api.purchase(ann["id"], "600", when=at(2041, 5, 1))
    evaluate(api, pid, at(2041, 5, 2))
    assert tiers_of(api, pid, {"Ann": ann}) == {"Ann": "VIP"}
    evaluate(api, pid, at(2041, 8, 1))  # the window has moved past it
    assert tiers_of(api, pid, {"Ann": ann}) == {"Ann": "Member"}


def test_rolling_window_keeps_a_tier_to_the_end_of_the_next_period(api):
    programme, _ = configure(api, {
        "programme": {"code": "visits", "name": "Visits", "currency": "EUR",
                      "tier_measure": "visits", "tier_window": "rolling", "tier_window_days": 30,
                      "tier_downgrade": "end_of_next_period", "upgrade_on_earn": False},
        "rules": [{"kind": "spend", "name": "base", "points_per_unit": "1"}],
        "tiers": [{"name": "Guest", "rank": 0, "threshold": "0"},
                  {"name": "Regular", "rank": 1, "threshold": "3"}],
    })
    pid = programme["id"]
    ann = api.customer("Ann Example")
    api.purchase(ann["id"], "5", when=at(2041, 1, 1, 9))
    interactions = f"/customers/{ann['id']}/interactions"
    for when in (at(2041, 1, 1, 18), at(2041, 1, 5), at(2041, 1, 9)):  # 2 visits on day one
        api.post(interactions, {"type": "visit", "occurred_at": when.isoformat()})
    evaluate(api, pid, at(2041, 1, 10))  # 3 distinct days with a visit or purchase
    member = api.member_of(pid, ann["id"])
    assert member["tier"]["name"] == "Regular"
    assert member["tier_kept_until"].startswith("2041-02-09")
    evaluate(api, pid, at(2041, 2, 1))  # no longer qualifies, but kept for 30 days more
    assert api.get(f"/loyalty/members/{member['id']}")["tier"]["name"] == "Regular"
    evaluate(api, pid, at(2041, 2, 10))
    assert api.get(f"/loyalty/members/{member['id']}")["tier"]["name"] == "Guest"


def test_evaluation_is_set_based_and_matches_a_plain_computation(api, app):
    """Hundreds of members with random spending: the SQL evaluation agrees with Python."""
    programme, tiers = configure(api)
    from crmkit import db
    from crmkit.customers.models import Customer
    from crmkit_loyalty import members as member_rules
    from crmkit_loyalty import tiers as tier_rules
    from crmkit_loyalty.ledger import credit
    from crmkit_loyalty.models import Member, Programme
    rng = random.Random(5)
    expected = {}
    thresholds = sorted(((Decimal(t["threshold"]), t["name"]) for t in SCHEME["tiers"]),
                        reverse=True)
    with app.app_context(), db.connection(), db.write_transaction():
        club = Programme.get_by_id(programme["id"])
        for i in range(300):
            customer = Customer.create(name=f"Member {i}")
            member, _ = member_rules.enrol(club, customer.id, now=at(2041, 1, 1))
            last_year = rng.choice([0, 500, 999, 1000, 2999, 3000, 7999, 8000, 12000])
            this_year = rng.choice([0, 0, 1000, 3500])
            for points, when in ((last_year, at(2041, 6, 1)), (this_year, at(2042, 2, 1))):
                if points:
                    credit(member, points, kind="earn", cause="purchase", now=when,
                           occurred_at=when, qualifying=points)
            best = max(last_year, this_year)
            expected[member.id] = next(name for limit, name in thresholds if best >= limit)
        result = tier_rules.evaluate_tiers(club, as_of=at(2042, 3, 1))
        got = {m.id: m.tier.name for m in Member.select().where(Member.programme == club)}
    assert got == expected
    assert result.changed == sum(1 for name in expected.values() if name != "Bronze")


@pytest.mark.parametrize("body, status, text", [
    ({"name": "Silver", "rank": 1, "threshold": "1000"}, 409, "already has rank 1"),
    ({"name": "gold", "rank": 5, "threshold": "99999"}, 409, "already has a tier named"),
    ({"name": "Tin", "rank": 4, "threshold": "10"}, 422, "Thresholds must rise with rank"),
    ({"name": "Tin", "rank": 4}, 422, "Missing data"),
    ({"name": "Tin", "rank": -1, "threshold": "10"}, 422, "greater than or equal"),
])
def test_bad_tiers_are_refused(api, body, status, text):
    programme, _ = configure(api)
    refused = api.post(f"/loyalty/programmes/{programme['id']}/tiers", body, expect=status)
    assert text in str(refused)


def test_a_tier_someone_holds_cannot_be_deleted(api):
    programme, tiers = configure(api)
    ann = api.customer("Ann Example")
    api.purchase(ann["id"], "10")
    base = f"/loyalty/programmes/{programme['id']}/tiers"
    api.call("delete", f"{base}/{tiers['Bronze']['id']}", 409)
    api.call("delete", f"{base}/{tiers['Platinum']['id']}", 204)
    assert [t["name"] for t in api.get(base)] == ["Bronze", "Silver", "Gold"]
