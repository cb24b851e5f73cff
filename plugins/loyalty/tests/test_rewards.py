"""The catalogue, redemption (soonest-expiring points first), vouchers and their life."""
import pytest
from crmkit_loyalty.testing import at, check_books


@pytest.fixture
def shop(api):
    programme = api.programme(rate="1", expiry_policy="days", expiry_period=365)
    base = f"/loyalty/programmes/{programme['id']}"
    rewards = {
        "fiver": api.post(f"{base}/rewards", {"name": "5 off", "kind": "voucher_amount",
                                              "points_cost": 100, "value": "5",
                                              "currency": "EUR", "voucher_valid_days": 30}),
        "ticket": api.post(f"{base}/rewards", {"name": "Open day", "kind": "event_ticket",
                                               "points_cost": 50, "stock": 2}),
    }
    ada = api.customer()
    return programme, rewards, ada


def test_redeem_issues_a_voucher_that_is_checked_and_consumed_once(api, app, shop):
    programme, rewards, ada = shop
    api.purchase(ada["id"], "250")
    member = api.member_of(programme["id"], ada["id"])
    redemption = api.post(f"/loyalty/members/{member['id']}/redemptions",
                          {"reward_id": rewards["fiver"]["id"]})
    code = redemption["voucher_code"]
    assert len(code.replace("-", "")) == 16 and redemption["status"] == "issued"
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 150
    checked = api.get(f"/loyalty/vouchers/{code.lower().replace('-', ' ')}")  # typed sloppily
    assert checked["valid"] is True and checked["reward"]["value"] == "5.0000"
    used = api.post(f"/loyalty/vouchers/{code}/consume", {"reference": "till-7"}, expect=200)
    assert used["status"] == "consumed" and used["consumed_reference"] == "till-7"
    again = api.post(f"/loyalty/vouchers/{code}/consume", {}, expect=409)
    assert again["message"].startswith("This voucher is consumed")
    assert api.get(f"/loyalty/vouchers/{code}")["valid"] is False
    api.get("/loyalty/vouchers/AAAA-BBBB-CCCC-DDDD", expect=404)
    # On the customer's timeline, for the 360 view.
    timeline = api.get(f"/customers/{ada['id']}/interactions?type=loyalty.reward_redeemed")
    assert timeline["items"][0]["summary"] == "Redeemed 5 off for 100 points"
    check_books(app)


def test_not_enough_points_is_a_409_with_the_balance(api, shop):
    programme, rewards, ada = shop
    api.purchase(ada["id"], "60")
    member = api.member_of(programme["id"], ada["id"])
    refused = api.post(f"/loyalty/members/{member['id']}/redemptions",
                       {"reward_id": rewards["fiver"]["id"]}, expect=409)
    assert refused["message"] == (f"Not enough points: Reward '5 off' needs 100 and member "
                                  f"{member['member_number']} has 60 available (balance 60, 0 "
                                  "pending, 0 expired).")
    assert (refused["balance"], refused["available"], refused["needed"]) == (60, 60, 100)
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 60
    assert api.get(f"/loyalty/members/{member['id']}/redemptions") == []


def test_limited_stock_and_cancel_gives_points_and_stock_back(api, app, shop):
    programme, rewards, ada = shop
    api.purchase(ada["id"], "200")
    member = api.member_of(programme["id"], ada["id"])
    path = f"/loyalty/members/{member['id']}/redemptions"
    first = api.post(path, {"reward_id": rewards["ticket"]["id"]})
    api.post(path, {"reward_id": rewards["ticket"]["id"]})
    sold_out = api.post(path, {"reward_id": rewards["ticket"]["id"]}, expect=409)
    assert "out of stock" in sold_out["message"]
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 100
    cancelled = api.post(f"/loyalty/redemptions/{first['id']}/cancel", expect=200)
    assert cancelled["status"] == "cancelled"
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 150
    reward = api.get(f"/loyalty/programmes/{programme['id']}/rewards/{rewards['ticket']['id']}")
    assert reward["stock"] == 1
    api.post(f"/loyalty/redemptions/{first['id']}/cancel", expect=409)
    api.post(f"/loyalty/vouchers/{first['voucher_code']}/consume", {}, expect=409)
    check_books(app)


def test_redemption_spends_soonest_expiring_points_first(api, app, shop):
    programme, rewards, ada = shop
    api.purchase(ada["id"], "80", when=at(2030, 3, 1))   # expires 2031-03-01
    api.purchase(ada["id"], "80", when=at(2030, 1, 1))   # expires 2031-01-01: spent first
    member = api.member_of(programme["id"], ada["id"])
    from crmkit import db
    from crmkit_loyalty import rewards as domain
    from crmkit_loyalty.models import Allocation, Lot
    with app.app_context(), db.connection(), db.write_transaction():
        domain.redeem(member["id"], rewards["fiver"]["id"], now=at(2030, 6, 1))
        taken = {Lot.get_by_id(a.lot_id).expires_at.year * 100 + Lot.get_by_id(a.lot_id)
                 .expires_at.month: a.points for a in Allocation.select()}
    assert taken == {203101: 80, 203103: 20}
    statement = api.statement(member["id"])
    assert statement["balance"] == 60
    check_books(app)


def test_expired_points_are_never_spent_and_the_expiry_job_writes_them_off(api, app, shop):
    programme, rewards, ada = shop
    api.purchase(ada["id"], "100", when=at(2020, 1, 1))  # long expired
    api.purchase(ada["id"], "30")
    member = api.member_of(programme["id"], ada["id"])
    statement = api.statement(member["id"])
    assert (statement["balance"], statement["available"], statement["lapsed"]) == (130, 30, 100)
    api.post(f"/loyalty/members/{member['id']}/redemptions",
             {"reward_id": rewards["fiver"]["id"]}, expect=409)
    from crmkit import db
    from crmkit_loyalty.jobs import expire_points
    with app.app_context(), db.connection():
        assert expire_points() == 1
        assert expire_points() == 0  # idempotent
    statement = api.statement(member["id"])
    assert (statement["balance"], statement["available"], statement["lapsed"]) == (30, 30, 0)
    assert statement["history"][0]["kind"] == "expire"
    assert statement["history"][0]["points"] == -100
    check_books(app)


def test_vouchers_expire(api, app, shop):
    programme, rewards, ada = shop
    api.purchase(ada["id"], "100", when=at(2019, 6, 1))
    member = api.member_of(programme["id"], ada["id"])
    from crmkit import db
    from crmkit_loyalty import rewards as domain
    with app.app_context(), db.connection(), db.write_transaction():
        redemption = domain.redeem(member["id"], rewards["fiver"]["id"], now=at(2020, 1, 1))
    assert api.get(f"/loyalty/vouchers/{redemption.voucher_code}")["status"] == "expired"
    refused = api.post(f"/loyalty/vouchers/{redemption.voucher_code}/consume", {}, expect=409)
    assert refused["state"] == "expired"


def test_tier_eligibility(api, shop):
    programme, rewards, ada = shop
    base = f"/loyalty/programmes/{programme['id']}"
    api.post(f"{base}/tiers", {"name": "Blue", "rank": 0, "threshold": "0"})
    gold = api.post(f"{base}/tiers", {"name": "Gold", "rank": 1, "threshold": "1000"})
    lounge = api.post(f"{base}/rewards", {"name": "Lounge", "kind": "upgrade", "points_cost": 10,
                                          "min_tier_id": gold["id"]})
    api.purchase(ada["id"], "100")
    member = api.member_of(programme["id"], ada["id"])
    refused = api.post(f"/loyalty/members/{member['id']}/redemptions",
                       {"reward_id": lounge["id"]}, expect=409)
    assert "for Gold members and above" in refused["message"] and "is Blue" in refused["message"]
    api.purchase(ada["id"], "1000")  # upgraded on earn
    assert api.get(f"/loyalty/members/{member['id']}")["tier"]["name"] == "Gold"
    api.post(f"/loyalty/members/{member['id']}/redemptions", {"reward_id": lounge["id"]})


def test_a_retried_redemption_with_an_idempotency_key_returns_the_same_voucher(api, shop):
    programme, rewards, ada = shop
    api.purchase(ada["id"], "500")
    member = api.member_of(programme["id"], ada["id"])
    path = f"/loyalty/members/{member['id']}/redemptions"
    headers = {"Idempotency-Key": "redeem-1"}
    first = api.post(path, {"reward_id": rewards["fiver"]["id"]}, headers=headers)
    second = api.post(path, {"reward_id": rewards["fiver"]["id"]}, headers=headers)
    assert second["voucher_code"] == first["voucher_code"]
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 400
    other = api.post(path, {"reward_id": rewards["ticket"]["id"]}, headers=headers, expect=422)
    assert "different request" in other["message"]


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "kind": "voucher_amount", "points_cost": 10}, "value"),
    ({"name": "x", "kind": "voucher_amount", "points_cost": 10, "value": "5"}, "currency"),
    ({"name": "x", "kind": "voucher_percent", "points_cost": 10, "value": "150"}, "value"),
    ({"name": "x", "kind": "free_product", "points_cost": 10}, "sku"),
    ({"name": "x", "kind": "upgrade", "points_cost": 0}, "points_cost"),
    ({"name": "x", "kind": "upgrade", "points_cost": 10, "min_tier_id": 999}, "min_tier_id"),
    ({"name": "x", "kind": "lottery", "points_cost": 10}, "kind"),
    ({"name": "x", "kind": "upgrade", "points_cost": 10, "stock_left": 3}, "stock_left"),
])
def test_bad_rewards_are_422_naming_the_field(api, shop, body, field):
    programme, _, _ = shop
    refused = api.post(f"/loyalty/programmes/{programme['id']}/rewards", body, expect=422)
    assert field in refused["errors"]["json"]


def test_redeem_bad_input(api, shop):
    programme, rewards, ada = shop
    api.purchase(ada["id"], "10")
    member = api.member_of(programme["id"], ada["id"])
    path = f"/loyalty/members/{member['id']}/redemptions"
    api.post(path, {}, expect=422)
    api.post(path, {"reward_id": "1"}, expect=422)
    api.post(path, {"reward_id": 999}, expect=404)
    api.post("/loyalty/members/999/redemptions", {"reward_id": rewards["fiver"]["id"]},
             expect=404)
    other = api.programme(code="other")
    foreign = api.post(f"/loyalty/programmes/{other['id']}/rewards",
                       {"name": "y", "kind": "upgrade", "points_cost": 1})
    refused = api.post(path, {"reward_id": foreign["id"]}, expect=409)
    assert "another programme" in refused["message"]
