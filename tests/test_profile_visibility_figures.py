"""The 360 profile shows only what the caller may see, and its key figures cover every currency.

- A company's ``people`` and a person's ``company`` go through the same object-level access as
  ``GET /customers/{id}`` and ``GET /companies/{id}/people``: what answers 404 there is not in
  the profile either.
- ``figures.revenue`` has an entry for every currency with a purchase or a refund, and every money
  figure is a decimal string at the stored scale.
"""
from decimal import Decimal

import pytest

PROFILE = "/api/v1/customers/{}/profile"


def person(client, **data):
    response = client.post("/api/v1/customers", json={"first_name": "X", **data})
    assert response.status_code == 201, response.json
    return response.json["id"]


def company(client, name):
    response = client.post("/api/v1/customers", json={"kind": "company", "name": name})
    assert response.status_code == 201, response.json
    return response.json["id"]


def profile(client, customer_id):
    response = client.get(PROFILE.format(customer_id))
    assert response.status_code == 200, response.json
    return response.json


def record(client, customer_id, type_, amount, currency):
    response = client.post(f"/api/v1/customers/{customer_id}/interactions",
                           json={"type": type_, "amount": amount, "currency": currency})
    assert response.status_code == 201, response.json


# -- visibility ---------------------------------------------------------------------------------

def test_company_profile_lists_only_the_people_the_caller_may_see(client, make_client):
    agent = make_client("agent")
    co = company(agent, "AgentCo")
    mine = person(agent, first_name="Mine", email="mine@example.com", company_id=co)
    hidden = person(client, first_name="Secret", email="secret@example.com", company_id=co)
    assert agent.get(f"/api/v1/customers/{hidden}").status_code == 404

    people = profile(agent, co)["people"]
    assert [p["id"] for p in people] == [mine]
    assert "secret@example.com" not in str(people)
    # The same people as the company's people list.
    listed = agent.get(f"/api/v1/companies/{co}/people").json["items"]
    assert [p["id"] for p in listed] == [p["id"] for p in people]
    # An all-scope caller sees both.
    assert sorted(p["id"] for p in profile(client, co)["people"]) == sorted([mine, hidden])


def test_company_profile_with_only_hidden_people_lists_none(client, make_client):
    agent = make_client("agent")
    co = company(agent, "AgentCo")
    person(client, first_name="Secret", company_id=co)
    assert profile(agent, co)["people"] == []


def test_hidden_company_of_a_visible_person_is_null(client, make_client):
    agent = make_client("agent")
    hidden_co = company(client, "HiddenCo")
    mine = person(agent, first_name="Mine")
    assert client.patch(f"/api/v1/customers/{mine}",
                        json={"company_id": hidden_co}).status_code == 200
    assert agent.get(f"/api/v1/customers/{hidden_co}").status_code == 404

    seen = profile(agent, mine)
    assert seen["company"] is None
    assert "HiddenCo" not in str(seen)
    # The record keeps the id, exactly as GET /customers/{id} shows it to the same caller.
    assert seen["customer"]["company_id"] == hidden_co
    assert agent.get(f"/api/v1/customers/{mine}").json["company_id"] == hidden_co
    # Whoever may see the company gets its id and name.
    assert profile(client, mine)["company"] == {"id": hidden_co, "name": "HiddenCo"}


def test_visible_company_of_a_person_is_shown(make_client):
    agent = make_client("agent")
    co = company(agent, "AgentCo")
    mine = person(agent, first_name="Mine", company_id=co)
    assert profile(agent, mine)["company"] == {"id": co, "name": "AgentCo"}


def test_team_scope_sees_the_teams_people_in_a_company_profile(client, make_client):
    manager = make_client("manager", teams=["north"])
    colleague = make_client("agent", teams=["north"])
    outsider = make_client("agent", teams=["south"])
    co = company(colleague, "NorthCo")
    ours = person(colleague, first_name="Ours", company_id=co)
    theirs = person(client, first_name="Theirs", company_id=co)
    assert outsider.get(f"/api/v1/customers/{theirs}").status_code == 404

    assert [p["id"] for p in profile(manager, co)["people"]] == [ours]
    assert outsider.get(PROFILE.format(co)).status_code == 404


# -- key figures --------------------------------------------------------------------------------

def test_refund_in_a_currency_without_purchases_has_an_entry(client):
    cid = person(client)
    record(client, cid, "purchase", "100", "EUR")
    record(client, cid, "refund", "30", "USD")
    figures = profile(client, cid)["figures"]
    assert figures["revenue"] == {
        "EUR": {"purchases": "100.0000", "refunds": "0.0000", "net": "100.0000"},
        "USD": {"purchases": "0.0000", "refunds": "30.0000", "net": "-30.0000"},
    }
    assert figures["purchase_count"] == 1


def test_only_refunds_still_show_revenue(client):
    cid = person(client)
    record(client, cid, "refund", "12.5", "GBP")
    figures = profile(client, cid)["figures"]
    assert figures["revenue"] == {
        "GBP": {"purchases": "0.0000", "refunds": "12.5000", "net": "-12.5000"}}
    assert figures["purchase_count"] == 0
    assert figures["first_purchase_at"] is None and figures["last_purchase_at"] is None


def test_net_is_purchases_minus_refunds_per_currency(client):
    cid = person(client)
    for type_, amount, currency in [("purchase", "10.5", "EUR"), ("purchase", "4.25", "EUR"),
                                    ("refund", "0.75", "EUR"), ("purchase", "8", "usd")]:
        record(client, cid, type_, amount, currency)
    revenue = profile(client, cid)["figures"]["revenue"]
    assert revenue == {
        "EUR": {"purchases": "14.7500", "refunds": "0.7500", "net": "14.0000"},
        "USD": {"purchases": "8.0000", "refunds": "0.0000", "net": "8.0000"},
    }
    for entry in revenue.values():
        assert all(isinstance(v, str) for v in entry.values())
        assert Decimal(entry["net"]) == Decimal(entry["purchases"]) - Decimal(entry["refunds"])


@pytest.mark.parametrize("kind", ["person", "company"])
def test_no_purchases_or_refunds_means_no_revenue(client, kind):
    cid = company(client, "Quiet") if kind == "company" else person(client)
    record_note = client.post(f"/api/v1/customers/{cid}/interactions", json={"type": "note"})
    assert record_note.status_code == 201
    assert profile(client, cid)["figures"]["revenue"] == {}
