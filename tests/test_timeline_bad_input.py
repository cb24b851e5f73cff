"""The timeline refuses what it cannot keep: another customer's external_id, money beyond the
amount column, an unknown direction filter. Each answers 4xx, never a 500 or a wrong record."""
import pytest

from crmkit.db import is_sqlite


def new_customer(client):
    response = client.post("/api/v1/customers", json={"first_name": "Ada"})
    assert response.status_code == 201, response.json
    return response.json["id"]


def interactions(client, customer_id):
    return client.get(f"/api/v1/customers/{customer_id}/interactions").json["items"]


def test_external_id_of_another_owners_interaction_is_409_and_reveals_nothing(make_client):
    one, two = make_client("agent"), make_client("agent")
    c1, c2 = new_customer(one), new_customer(two)
    first = one.post(f"/api/v1/customers/{c1}/interactions",
                     json={"type": "note", "summary": "secret of agent one", "external_id": "X1"})
    assert first.status_code == 201, first.json
    response = two.post(f"/api/v1/customers/{c2}/interactions",
                        json={"type": "note", "summary": "mine", "external_id": "X1"})
    assert response.status_code == 409, response.json
    assert list(response.json["errors"]["json"]) == ["external_id"]
    text = str(response.json)
    assert "secret" not in text and str(first.json["id"]) not in text
    assert interactions(two, c2) == []
    # The owner's own retry is still idempotent.
    again = one.post(f"/api/v1/customers/{c1}/interactions",
                     json={"type": "note", "summary": "retry", "external_id": "X1"})
    assert again.status_code == 201 and again.json["id"] == first.json["id"]


@pytest.mark.parametrize("data, field", [
    ({"type": "purchase", "amount": "1", "currency": "EUR",
      "lines": [{"name": "x", "quantity": "99999999999999", "unit_price": "99999999999999"}]},
     "lines.0.unit_price"),
    ({"type": "purchase", "amount": "1", "currency": "EUR",
      "lines": [{"name": "x", "quantity": "2", "unit_price": "50000000000000"}]},
     "lines.0.unit_price"),
])
def test_money_beyond_the_amount_column_is_422(client, data, field):
    ada = new_customer(client)
    response = client.post(f"/api/v1/customers/{ada}/interactions", json=data)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]
    assert interactions(client, ada) == []


def test_amount_bound_applies_after_rounding_to_the_column(client):
    ada = new_customer(client)
    url = f"/api/v1/customers/{ada}/interactions"
    # Below 10^14 as given, 10^14 once rounded to the column's 4 places.
    response = client.post(url, json={"type": "purchase", "amount": "99999999999999.99999",
                                      "currency": "EUR"})
    assert response.status_code == 422, response.json
    assert "amount" in response.json["errors"]["json"]
    response = client.post(url, json={"type": "purchase", "amount": "99999999999999.99994",
                                      "currency": "EUR"})
    if is_sqlite():  # 18 digits: more than SQLite keeps, so refused rather than rounded
        assert response.status_code == 422, response.json
        assert "15 significant digits" in response.json["errors"]["json"]["amount"][0]
    else:
        assert response.status_code == 201, response.json
        assert response.json["amount"] == "99999999999999.9999"


@pytest.mark.parametrize("direction", ["sideways", "inbound,sideways"])
def test_unknown_direction_filter_is_422_naming_the_allowed_values(client, direction):
    ada = new_customer(client)
    response = client.get(f"/api/v1/customers/{ada}/interactions?direction={direction}")
    assert response.status_code == 422, response.json
    assert "inbound, outbound, internal" in response.json["errors"]["query"]["direction"][0]
    ok = client.get(f"/api/v1/customers/{ada}/interactions?direction=inbound,outbound")
    assert ok.status_code == 200


def test_an_external_id_taken_after_the_look_is_409_not_500(make_client, monkeypatch):
    """Two requests with one external_id at once: both look, neither finds the other's row
    (PostgreSQL), and the unique index refuses the second, which must say so as a 409."""
    from crmkit.customers import timeline
    from crmkit.customers.models import Interaction
    client = make_client("admin")
    c1, c2 = new_customer(client), new_customer(client)
    assert client.post(f"/api/v1/customers/{c1}/interactions",
                       json={"type": "note", "external_id": "X1"}).status_code == 201

    class Unseen:  # the look runs before the other transaction's row is visible
        def __getattr__(self, name):
            return getattr(Interaction, name)

        @staticmethod
        def get_or_none(*args):
            return None

    monkeypatch.setattr(timeline, "Interaction", Unseen())
    response = client.post(f"/api/v1/customers/{c2}/interactions",
                           json={"type": "note", "external_id": "X1"})
    monkeypatch.undo()
    assert response.status_code == 409, response.json
    assert response.json["errors"]["json"] == {
        "external_id": ["Already used for an interaction from this source."]}
    assert interactions(client, c2) == []
