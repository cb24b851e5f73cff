"""Configuration over HTTP: programmes and rules, bad input as clear 4xx, lists and schedules."""
import pytest
from crmkit_loyalty.testing import at

from crmkit import db


@pytest.mark.parametrize("body, field, text", [
    ({"name": "Club", "currency": "EUR"}, "code", "Missing data"),
    ({"code": "Club!", "name": "Club", "currency": "EUR"}, "code", "lower-case"),
    ({"code": "club", "name": "Club", "currency": "euro"}, "currency", "ISO 4217"),
    ({"code": "club", "name": "Club", "currency": "EUR", "rounding": "nearest"}, "rounding",
     "Must be one of"),
    ({"code": "club", "name": "Club", "currency": "EUR", "pending_days": -1}, "pending_days",
     "greater than or equal"),
    ({"code": "club", "name": "Club", "currency": "EUR", "pending_days": "3"}, "pending_days",
     "Not a valid integer"),
    ({"code": "club", "name": "Club", "currency": "EUR", "starts_at": "2030-01-01T00:00:00Z",
      "ends_at": "2029-01-01T00:00:00Z"}, "ends_at", "after starts_at"),
    ({"code": "club", "name": "Club", "currency": "EUR", "expiry_policy": "days"},
     "expiry_period", "number of days"),
    ({"code": "club", "name": "Club", "currency": "EUR", "tiers_evaluated_at": None},
     "tiers_evaluated_at", "Unknown field"),
])
def test_bad_programmes_are_422_naming_the_field(api, body, field, text):
    refused = api.post("/loyalty/programmes", body, expect=422)
    assert text in " ".join(refused["errors"]["json"][field])
    assert api.get("/loyalty/programmes") == []


def test_programme_codes_are_unique_and_immutable(api):
    programme = api.programme()
    again = api.post("/loyalty/programmes", {"code": "club", "name": "X", "currency": "EUR"},
                     expect=409)
    assert "exists already" in again["message"]
    api.call("patch", f"/loyalty/programmes/{programme['id']}", 422, json={"code": "other"})
    changed = api.patch(f"/loyalty/programmes/{programme['id']}", {"points_name": "miles"})
    assert changed["points_name"] == "miles" and changed["code"] == "club"
    api.get("/loyalty/programmes/999", expect=404)


@pytest.mark.parametrize("body, status, field_or_text", [
    ({"kind": "spend", "name": "x"}, 422, "points_per_unit"),
    ({"kind": "spend", "name": "x", "points_per_unit": "1", "match": "y"}, 422, "match"),
    ({"kind": "spend", "name": "x", "points_per_unit": "-1"}, 422, "points_per_unit"),
    ({"kind": "category", "name": "x", "match": "tools"}, 422, "multiplier"),
    ({"kind": "interaction", "name": "x", "match": "purchase", "points": 5}, 422, "match"),
    ({"kind": "interaction", "name": "x", "match": "loyalty.reward_redeemed", "points": 5}, 422,
     "match"),
    ({"kind": "first_purchase", "name": "x", "points": 5, "cap_per_day": 3}, 422, "cap_per_day"),
    ({"kind": "lottery", "name": "x"}, 422, "kind"),
    ({"kind": "spend", "name": "again", "points_per_unit": "2"}, 409, "already has an active"),
])
def test_bad_rules_are_refused(api, body, status, field_or_text):
    programme = api.programme(rate="1")
    refused = api.post(f"/loyalty/programmes/{programme['id']}/rules", body, expect=status)
    assert field_or_text in str(refused)


def test_a_rule_keeps_its_kind_and_can_be_replaced(api):
    programme = api.programme(rate="1")
    base = f"/loyalty/programmes/{programme['id']}/rules"
    rule = api.get(base)[0]
    api.call("patch", f"{base}/{rule['id']}", 422, json={"kind": "category"})
    api.patch(f"{base}/{rule['id']}", {"active": False})
    new = api.post(base, {"kind": "spend", "name": "Double", "points_per_unit": "2"})
    assert new["currency"] == "EUR"
    api.call("patch", f"{base}/{rule['id']}", 409, json={"active": True})  # two would clash
    api.get(f"{base}/999", expect=404)


def test_member_lists_are_keyset_pages_with_a_hard_maximum(api):
    programme = api.programme(rate="1")
    for i in range(5):
        api.purchase(api.customer(f"Person {i}")["id"], "1")
    path = f"/loyalty/programmes/{programme['id']}/members"
    first = api.get(f"{path}?limit=2")
    second = api.get(f"{path}?limit=2&cursor={first['next_cursor']}")
    third = api.get(f"{path}?limit=2&cursor={second['next_cursor']}")
    ids = [m["id"] for page in (first, second, third) for m in page["items"]]
    assert len(ids) == 5 == len(set(ids)) and third["next_cursor"] is None
    api.get(f"{path}?limit=100000", expect=422)
    api.get(f"{path}?cursor=garbage", expect=422)
    number = first["items"][0]["member_number"]
    assert [m["member_number"] for m in api.get(f"{path}?number={number}")["items"]] == [number]
    member = first["items"][0]
    transactions = api.get(f"/loyalty/members/{member['id']}/transactions?limit=1")
    assert len(transactions["items"]) == 1
    api.get(f"/loyalty/members/{member['id']}/transactions?limit=0", expect=422)
    memberships = api.get(f"/loyalty/customers/{member['customer_id']}/memberships")
    assert [m["id"] for m in memberships] == [member["id"]]


def test_scheduled_jobs_evaluate_due_programmes_and_expire(api, app):
    daily = api.programme(code="daily", rate="1", tier_schedule="daily")
    api.programme(code="manual", rate="1", tier_schedule="manual")
    from crmkit_loyalty.jobs import evaluate_due_tiers
    from crmkit_loyalty.models import Programme
    from crmkit_loyalty.tiers import evaluation_due
    with app.app_context(), db.connection():
        assert evaluate_due_tiers(now=at(2030, 5, 1, 3)) == ["daily"]
        assert evaluate_due_tiers(now=at(2030, 5, 1, 23)) == []  # done for that day
        assert evaluate_due_tiers(now=at(2030, 5, 2, 3)) == ["daily"]
        club = Programme.get_by_id(daily["id"])
        for schedule, later, due in (("weekly", at(2030, 5, 5), False),
                                     ("weekly", at(2030, 5, 6), True),
                                     ("monthly", at(2030, 6, 1), True),
                                     ("yearly", at(2030, 12, 31), False),
                                     ("yearly", at(2031, 1, 1), True)):
            club.tier_schedule = schedule
            assert evaluation_due(club, later) is due, (schedule, later)
    jobs = api.client.application.extensions["crmkit"].pm
    from crmkit.registry import collect_jobs
    assert [(plugin, job.name) for plugin, job in collect_jobs(jobs) if plugin == "loyalty"] == [
        ("loyalty", "expire-points"), ("loyalty", "evaluate-tiers")]


def test_the_api_is_documented(api):
    spec = api.client.get("/openapi.json").json
    paths = [p for p in spec["paths"] if p.startswith("/api/v1/loyalty/")]
    assert "/api/v1/loyalty/members/{member_id}/redemptions" in paths
    assert "/api/v1/loyalty/vouchers/{code}/consume" in paths
    assert len(paths) >= 20
    statement = spec["components"]["schemas"]["StatementOut"]["properties"]
    assert {"balance", "available", "pending", "expiring_soon", "tier", "history"} <= set(statement)
