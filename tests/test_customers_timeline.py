"""The timeline: append-only interactions, money as Decimal, filters, and the 360 profile."""
import pytest


@pytest.fixture
def ada(client):
    response = client.post("/api/v1/customers", json={"first_name": "Ada", "last_name": "L",
                                                      "status": "prospect"})
    return response.json["id"]


def record(client, customer_id, **data):
    response = client.post(f"/api/v1/customers/{customer_id}/interactions", json=data)
    assert response.status_code == 201, response.json
    return response.json


def test_purchase_keeps_exact_money_lines_and_source(client, ada):
    body = record(client, ada, type="purchase", amount="1234.56", currency="eur",
                  channel="store", occurred_at="2026-03-01T10:00:00Z",
                  lines=[{"sku": "HP-1", "name": "Heat pump", "quantity": 2,
                          "unit_price": "0.10"}])
    assert body["amount"] == "1234.5600"
    assert body["currency"] == "EUR"
    assert body["lines"] == [{"sku": "HP-1", "name": "Heat pump", "quantity": "2",
                              "unit_price": "0.10", "total": "0.20"}]
    assert body["source"] == "api"
    assert body["occurred_at"] == "2026-03-01T10:00:00+00:00"


def test_first_purchase_makes_a_prospect_an_active_customer(client, ada):
    record(client, ada, type="call", summary="asked for a quote")
    assert client.get(f"/api/v1/customers/{ada}").json["status"] == "prospect"
    record(client, ada, type="purchase", amount="10", currency="EUR")
    assert client.get(f"/api/v1/customers/{ada}").json["status"] == "active"


@pytest.mark.parametrize("data, field", [
    ({"type": "telepathy"}, "type"),
    ({"type": "purchase", "currency": "EUR"}, "amount"),
    ({"type": "purchase", "amount": "5"}, "currency"),
    ({"type": "purchase", "amount": "-5", "currency": "EUR"}, "amount"),
    ({"type": "purchase", "amount": "abc", "currency": "EUR"}, "amount"),
    ({"type": "call", "direction": "sideways"}, "direction"),
    ({"type": "call", "amount": "3"}, "currency"),
    ({"type": "purchase", "amount": "1", "currency": "EUR", "lines": [{"quantity": 1}]},
     "lines.0.name"),
    ({"type": "call", "occurred_at": "yesterday"}, "occurred_at"),
])
def test_bad_interaction_is_422_and_nothing_is_stored(client, ada, data, field):
    response = client.post(f"/api/v1/customers/{ada}/interactions", json=data)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]
    assert client.get(f"/api/v1/customers/{ada}/interactions").json["items"] == []


def test_external_id_makes_recording_idempotent_per_source(client, ada):
    first = record(client, ada, type="purchase", amount="5", currency="EUR", external_id="o-1")
    again = record(client, ada, type="purchase", amount="5", currency="EUR", external_id="o-1")
    assert again["id"] == first["id"]
    assert len(client.get(f"/api/v1/customers/{ada}/interactions").json["items"]) == 1


def test_timeline_is_newest_first_with_filters_and_pages(client, ada):
    for day in range(1, 8):
        record(client, ada, type="call" if day % 2 else "email", channel="phone",
               occurred_at=f"2026-01-0{day}T09:00:00Z")
    items = client.get(f"/api/v1/customers/{ada}/interactions").json["items"]
    assert [i["occurred_at"][:10] for i in items] == [f"2026-01-0{d}" for d in range(7, 0, -1)]
    calls = client.get(f"/api/v1/customers/{ada}/interactions?type=call").json["items"]
    assert {i["type"] for i in calls} == {"call"} and len(calls) == 4
    ranged = client.get(f"/api/v1/customers/{ada}/interactions",
                        query_string={"occurred_after": "2026-01-03T00:00:00Z",
                                      "occurred_before": "2026-01-05T00:00:00Z"}).json["items"]
    assert [i["occurred_at"][:10] for i in ranged] == ["2026-01-04", "2026-01-03"]
    page = client.get(f"/api/v1/customers/{ada}/interactions?limit=3").json
    rest = client.get(f"/api/v1/customers/{ada}/interactions?limit=10"
                      f"&cursor={page['next_cursor']}").json
    assert [i["id"] for i in page["items"] + rest["items"]] == [i["id"] for i in items]
    assert rest["next_cursor"] is None


def test_timeline_is_append_only_over_the_api(client, ada):
    body = record(client, ada, type="note", summary="first")
    url = f"/api/v1/customers/{ada}/interactions"
    assert client.put(url, json={}).status_code == 405
    assert client.delete(url).status_code == 405
    assert client.patch(f"{url}/{body['id']}", json={}).status_code == 404


def test_profile_has_record_timeline_figures_and_plugin_sections(client, ada):
    record(client, ada, type="call", occurred_at="2026-01-01T09:00:00Z")
    record(client, ada, type="purchase", amount="100.00", currency="EUR",
           occurred_at="2026-02-01T09:00:00Z")
    record(client, ada, type="purchase", amount="50.50", currency="EUR",
           occurred_at="2026-03-01T09:00:00Z")
    record(client, ada, type="refund", amount="20.00", currency="EUR",
           occurred_at="2026-03-05T09:00:00Z")
    record(client, ada, type="purchase", amount="7", currency="USD",
           occurred_at="2026-03-02T09:00:00Z")
    record(client, ada, type="note", direction="internal", occurred_at="2026-04-01T09:00:00Z")
    profile = client.get(f"/api/v1/customers/{ada}/profile").json
    assert profile["customer"]["id"] == ada
    figures = profile["figures"]
    assert figures["purchase_count"] == 3
    assert figures["first_purchase_at"] == "2026-02-01T09:00:00+00:00"
    assert figures["last_purchase_at"] == "2026-03-02T09:00:00+00:00"
    assert figures["revenue"]["EUR"] == {"purchases": "150.5000", "refunds": "20.0000",
                                         "net": "130.5000"}
    assert figures["revenue"]["USD"]["net"] == "7.0000"
    # An internal note is not contact with the customer.
    assert figures["last_contact_at"] == "2026-03-05T09:00:00+00:00"
    assert profile["timeline"]["count"] == 6
    assert profile["timeline"]["by_type"] == {"call": 1, "purchase": 3, "refund": 1, "note": 1}
    assert profile["timeline"]["recent"][0]["type"] == "note"
    assert profile["sections"] == {}
