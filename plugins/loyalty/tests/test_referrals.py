"""Referrals: both sides rewarded on the newcomer's first purchase; no self-referral, no loops."""
from crmkit_loyalty.testing import check_books


def setup_programme(api, **policy):
    return api.programme(rate="1", referrer_points=250, referred_points=100, **policy)


def code_of(api, member_id):
    return api.post(f"/loyalty/members/{member_id}/referral-code", expect=200)["referral_code"]


def test_both_sides_are_rewarded_when_the_first_purchase_lands(api, app):
    programme = setup_programme(api)
    ada, bob = api.customer("Ada Lovelace"), api.customer("Bob Stone")
    api.purchase(ada["id"], "10")
    ada_member = api.member_of(programme["id"], ada["id"])
    code = code_of(api, ada_member["id"])
    assert code == code_of(api, ada_member["id"])  # made once, then the same
    referral = api.post(f"/loyalty/programmes/{programme['id']}/referrals",
                        {"code": code.lower(), "customer_id": bob["id"]})
    assert referral["status"] == "pending"
    bob_member = api.member_of(programme["id"], bob["id"])  # enrolled by the referral
    assert bob_member["enrolled_via"] == "referral" and bob_member["points_balance"] == 0
    api.purchase(bob["id"], "20")
    assert api.get(f"/loyalty/members/{bob_member['id']}")["points_balance"] == 20 + 100
    assert api.get(f"/loyalty/members/{ada_member['id']}")["points_balance"] == 10 + 250
    api.purchase(bob["id"], "20")  # only the first purchase rewards
    assert api.get(f"/loyalty/members/{ada_member['id']}")["points_balance"] == 260
    made = api.get(f"/loyalty/members/{ada_member['id']}/referrals")
    assert [(r["referred_customer_id"], r["status"]) for r in made] == [(bob["id"], "rewarded")]
    check_books(app)


def test_self_referral_loops_and_repeat_customers_are_refused(api):
    programme = setup_programme(api)
    path = f"/loyalty/programmes/{programme['id']}/referrals"
    ada, bob, cy, dee = (api.customer(n) for n in ("Ada A", "Bob B", "Cy C", "Dee D"))
    api.purchase(ada["id"], "10")
    ada_code = code_of(api, api.member_of(programme["id"], ada["id"])["id"])
    refused = api.post(path, {"code": ada_code, "customer_id": ada["id"]}, expect=422)
    assert refused["errors"]["json"]["customer_id"] == ["A member cannot refer themselves."]
    # Ada refers Bob, Bob refers Cy; Cy may not refer Ada back (a loop), nor Bob.
    api.post(path, {"code": ada_code, "customer_id": bob["id"]})
    bob_code = code_of(api, api.member_of(programme["id"], bob["id"])["id"])
    api.post(path, {"code": bob_code, "customer_id": cy["id"]})
    cy_code = code_of(api, api.member_of(programme["id"], cy["id"])["id"])
    # Ada has bought already, so she is not new anyway; Dee is: she may be referred by Cy.
    loop = api.post(path, {"code": cy_code, "customer_id": bob["id"]}, expect=422)
    assert "loop" in loop["errors"]["json"]["customer_id"][0]
    assert "loop" in api.post(path, {"code": bob_code, "customer_id": ada["id"]},
                              expect=422)["errors"]["json"]["customer_id"][0]
    api.post(path, {"code": cy_code, "customer_id": dee["id"]})
    twice = api.post(path, {"code": ada_code, "customer_id": dee["id"]}, expect=409)
    assert "referred" in twice["message"]
    eve = api.customer("Eve E")
    api.purchase(eve["id"], "5")
    bought = api.post(path, {"code": ada_code, "customer_id": eve["id"]}, expect=409)
    assert "bought before" in bought["message"]
    bad = api.post(path, {"code": "NOPE1234", "customer_id": eve["id"]}, expect=422)
    assert "code" in bad["errors"]["json"]
    api.post(path, {"code": ada_code, "customer_id": 9999}, expect=404)
