"""Domain hooks of customer data, each with a throwaway plugin recording what it saw."""
import pytest

from crmkit import Manifest, hookimpl


class Recorder:
    """Remembers every customer hook call; can refuse changes or blow up on request."""

    manifest = Manifest(name="recorder")

    def __init__(self):
        self.calls = []
        self.refuse_status = None
        self.explode_on = None

    @hookimpl
    def register_interaction_types(self):
        return ["recorder.visit_logged"]

    @hookimpl
    def register_custom_field_entities(self):
        return ["recorder.thing"]

    @hookimpl
    def validate_customer_change(self, customer, changes):
        self.calls.append(("validate", customer.id if customer else None, dict(changes)))
        if self.refuse_status and changes.get("status", [None, None])[1] == self.refuse_status:
            return {"status": f"{self.refuse_status} is not allowed here."}
        return None

    @hookimpl
    def customer_created(self, customer):
        self.calls.append(("created", customer.id, customer.name))
        if self.explode_on == "created":
            raise RuntimeError("refusing inside the transaction")

    @hookimpl
    def customer_updated(self, customer, changes):
        self.calls.append(("updated", customer.id, dict(changes)))

    @hookimpl
    def interaction_recorded(self, interaction):
        self.calls.append(("interaction", interaction.customer_id, interaction.type,
                           str(interaction.amount)))
        if self.explode_on == "interaction":
            raise RuntimeError("refusing the interaction")


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def rclient(make_app, recorder):
    return make_app(plugins=[recorder]).test_client()


def new_customer(client, **data):
    response = client.post("/api/v1/customers", json={"first_name": "Ada", **data})
    assert response.status_code == 201, response.json
    return response.json["id"]


def names(client):
    return [c["name"] for c in client.get("/api/v1/customers").json["items"]]


def test_hook_customer_created(rclient, recorder):
    customer_id = new_customer(rclient)
    assert ("created", customer_id, "Ada") in recorder.calls


def test_hook_customer_created_raising_stores_nothing(rclient, recorder):
    recorder.explode_on = "created"
    response = rclient.post("/api/v1/customers", json={"first_name": "Ghost"})
    assert response.status_code == 500
    recorder.explode_on = None
    assert names(rclient) == []
    events = rclient.get("/api/v1/events").json["events"]
    assert [e for e in events if e["type"] == "customer.created"] == []


def test_hook_customer_updated(rclient, recorder):
    customer_id = new_customer(rclient, city="Paris", tags=["a"])
    rclient.patch(f"/api/v1/customers/{customer_id}", json={"city": "Rome", "tags": ["a"]})
    assert recorder.calls[-1] == ("updated", customer_id, {"city": ["Paris", "Rome"]})
    before = len(recorder.calls)
    rclient.patch(f"/api/v1/customers/{customer_id}", json={"city": "Rome"})
    assert [c[0] for c in recorder.calls[before:]] == ["validate"]  # nothing changed: no hook


def test_hook_validate_customer_change(rclient, recorder):
    recorder.refuse_status = "churned"
    response = rclient.post("/api/v1/customers", json={"first_name": "Bo", "status": "churned"})
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {"status": ["churned is not allowed here."]}
    customer_id = new_customer(rclient, status="active")
    response = rclient.patch(f"/api/v1/customers/{customer_id}", json={"status": "churned"})
    assert response.status_code == 422
    assert rclient.get(f"/api/v1/customers/{customer_id}").json["status"] == "active"
    validate = [c for c in recorder.calls if c[0] == "validate"]
    # The creator becomes the owner (owner_id) unless the request names another.
    assert validate[0] == ("validate", None, {"first_name": [None, "Bo"],
                                              "status": [None, "churned"],
                                              "owner_id": [None, rclient.get(
                                                  "/api/v1/users/me").json["id"]]})
    assert validate[-1] == ("validate", customer_id, {"status": ["active", "churned"]})


def test_hook_interaction_recorded(rclient, recorder):
    customer_id = new_customer(rclient)
    rclient.post(f"/api/v1/customers/{customer_id}/interactions",
                 json={"type": "purchase", "amount": "9.99", "currency": "EUR",
                       "external_id": "x1"})
    rclient.post(f"/api/v1/customers/{customer_id}/interactions",
                 json={"type": "purchase", "amount": "9.99", "currency": "EUR",
                       "external_id": "x1"})
    seen = [c for c in recorder.calls if c[0] == "interaction"]
    assert seen == [("interaction", customer_id, "purchase", "9.9900")]


def test_hook_interaction_recorded_raising_stores_nothing(rclient, recorder):
    customer_id = new_customer(rclient)
    recorder.explode_on = "interaction"
    response = rclient.post(f"/api/v1/customers/{customer_id}/interactions",
                            json={"type": "call"})
    assert response.status_code == 500
    recorder.explode_on = None
    assert rclient.get(f"/api/v1/customers/{customer_id}/interactions").json["items"] == []


def test_hook_register_interaction_types(rclient):
    assert "recorder.visit_logged" in rclient.get("/api/v1/interaction-types").json["types"]
    customer_id = new_customer(rclient)
    response = rclient.post(f"/api/v1/customers/{customer_id}/interactions",
                            json={"type": "recorder.visit_logged"})
    assert response.status_code == 201


def test_hook_register_custom_field_entities(rclient, client):
    response = rclient.post("/api/v1/custom-fields", json={"entity": "recorder.thing",
                                                           "name": "size", "type": "number"})
    assert response.status_code == 201, response.json
    # Without the plugin the entity does not exist.
    response = client.post("/api/v1/custom-fields", json={"entity": "elsewhere.thing",
                                                          "name": "size", "type": "number"})
    assert response.status_code == 422
    assert "Unknown entity" in response.json["errors"]["json"]["entity"][0]
