"""Loyalty in the kernel's customer hooks: segments, export, erasure, merging, access rules."""
from crmkit_loyalty.testing import check_books


def test_segment_fields_filter_customers_in_one_query(api, app):
    programme = api.programme(rate="1")
    base = f"/loyalty/programmes/{programme['id']}/tiers"
    api.post(base, {"name": "Blue", "rank": 0, "threshold": "0"})
    api.post(base, {"name": "Gold", "rank": 1, "threshold": "100"})
    people = {name: api.customer(f"{name} X") for name in ("Ada", "Bob", "Cy")}
    api.purchase(people["Ada"]["id"], "150")
    api.purchase(people["Bob"]["id"], "20")
    from crmkit import db
    from crmkit.customers.models import Customer
    from crmkit.segment_fields import join_field, segment_fields
    with app.app_context(), db.connection():
        fields = segment_fields()
        assert {"loyalty.club.tier", "loyalty.club.tier_rank", "loyalty.club.points_balance",
                "loyalty.club.member"} <= set(fields)
        assert fields["loyalty.club.tier"].choices == ("Blue", "Gold")
        query, tier = join_field(Customer.select(Customer.first_name), fields["loyalty.club.tier"])
        assert [c.first_name for c in query.where(tier == "Gold")] == ["Ada"]
        query, balance = join_field(Customer.select(Customer.first_name),
                                    fields["loyalty.club.points_balance"])
        assert sorted(c.first_name for c in query.where(balance >= 20)) == ["Ada", "Bob"]
        query, member = join_field(Customer.select(Customer.first_name),
                                   fields["loyalty.club.member"])
        assert [c.first_name for c in query.where(member.is_null())] == ["Cy"]


def test_personal_data_export_and_erasure(api, app):
    programme = api.programme(rate="1")
    ada = api.customer()
    api.purchase(ada["id"], "40")
    member = api.member_of(programme["id"], ada["id"])
    api.post(f"/loyalty/members/{member['id']}/referral-code", expect=200)
    api.post(f"/loyalty/members/{member['id']}/adjustments",
             {"points": 5, "reason": "Apology for Ada's late delivery"})
    exported = api.get(f"/customers/{ada['id']}/personal-data")
    membership = exported["plugins"]["loyalty"]["memberships"][0]
    assert membership["membership"]["member_number"] == member["member_number"]
    assert [t["points"] for t in membership["transactions"]] == [40, 5]
    api.post(f"/customers/{ada['id']}/erase", expect=200)
    after = api.get(f"/loyalty/members/{member['id']}")
    assert after["status"] == "erased" and after["referral_code"] is None
    assert after["points_balance"] == 45  # financial records stay
    notes = [t["note"] for t in api.get(f"/loyalty/members/{member['id']}/transactions")["items"]]
    assert not any("Ada" in (n or "") for n in notes)
    api.purchase(ada["id"], "10")  # an erased member earns no more
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 45


def test_merging_customers_combines_their_memberships(api, app):
    club = api.programme(rate="1")
    other = api.programme(code="other", rate="2")
    keep, dup = api.customer("Ada Keep"), api.customer("Ada Dup")
    api.purchase(keep["id"], "30")
    api.purchase(dup["id"], "50")
    dup_member = api.member_of(club["id"], dup["id"])
    api.post(f"/loyalty/members/{dup_member['id']}/adjustments", {"points": 7, "reason": "gift"})
    api.post(f"/customers/{keep['id']}/merge", {"duplicate_id": dup["id"]}, expect=200)
    kept = api.member_of(club["id"], keep["id"])
    assert kept["points_balance"] == 30 + 50 + 7
    gone = api.get(f"/loyalty/members/{dup_member['id']}")
    assert gone["status"] == "merged" and gone["points_balance"] == 0
    # Both held "other" too: combined; the statement shows the whole history.
    merged_other = api.member_of(other["id"], keep["id"])
    assert merged_other["points_balance"] == 60 + 100
    history = api.statement(kept["id"])["history"]
    assert sorted(t["points"] for t in history) == [7, 30, 50]
    check_books(app)


def test_merging_moves_a_membership_only_the_duplicate_had(api):
    club = api.programme(rate="1", auto_enrol=False)
    keep, dup = api.customer("Ada Keep"), api.customer("Ada Dup")
    member = api.post(f"/loyalty/programmes/{club['id']}/members", {"customer_id": dup["id"]})
    api.post(f"/customers/{keep['id']}/merge", {"duplicate_id": dup["id"]}, expect=200)
    moved = api.get(f"/loyalty/members/{member['id']}")
    assert moved["customer_id"] == keep["id"] and moved["status"] == "active"


def test_permissions(api, app, make_user):
    programme = api.programme(rate="1")
    reward = api.post(f"/loyalty/programmes/{programme['id']}/rewards",
                      {"name": "Mug", "kind": "upgrade", "points_cost": 1})
    ada = api.customer()
    api.purchase(ada["id"], "10")
    member = api.member_of(programme["id"], ada["id"])
    from crmkit import db
    from crmkit.auth import tokens

    def client_for(role):
        user = make_user(role)
        with app.app_context(), db.connection(), db.write_transaction():
            token = tokens.create_token(user, "t")[1]
        return app.test_client(token=token)

    reader, agent = client_for("read-only"), client_for("agent")
    assert reader.get(f"/api/v1/loyalty/members/{member['id']}/statement").status_code == 200
    assert reader.post(f"/api/v1/loyalty/members/{member['id']}/redemptions",
                       json={"reward_id": reward["id"]}).status_code == 403
    # Agents redeem and enrol, but neither configure programmes nor mint points.
    assert agent.post("/api/v1/loyalty/programmes",
                      json={"code": "x1", "name": "X", "currency": "EUR"}).status_code == 403
    assert agent.post(f"/api/v1/loyalty/members/{member['id']}/adjustments",
                      json={"points": 100, "reason": "because"}).status_code == 403
    anonymous = app.test_client(token=None)
    assert anonymous.get("/api/v1/loyalty/vouchers/AAAA").status_code == 401


def test_adjustments(api, app):
    programme = api.programme(rate="1")
    ada = api.customer()
    api.purchase(ada["id"], "10")
    member = api.member_of(programme["id"], ada["id"])
    path = f"/loyalty/members/{member['id']}/adjustments"
    tx = api.post(path, {"points": -4, "reason": "Correction"})
    assert (tx["kind"], tx["points"], tx["note"]) == ("adjust", -4, "Correction")
    refused = api.post(path, {"points": -7, "reason": "Too much"}, expect=409)
    assert refused["available"] == 6
    for bad in ({"points": 0, "reason": "nothing"}, {"points": 5}, {"points": "5", "reason": "x y"},
                {"points": 5, "reason": "ok", "member_id": 3}):
        api.post(path, bad, expect=422)
    check_books(app)
