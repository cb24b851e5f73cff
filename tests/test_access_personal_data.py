"""Personal data: one export document (kernel and plugins), erasure under a pseudonym (kernel and
plugins, audited, all or nothing), and marketing consent per channel."""
import json

import pytest

from crmkit import Manifest, hookimpl
from crmkit.audit.models import AuditEvent
from crmkit.customers.models import Customer, CustomerEmail, Interaction
from crmkit.privacy import consent


@pytest.fixture
def notes_app(make_app, notes_plugin):
    return make_app()


@pytest.fixture
def person(notes_app):
    client = notes_app.test_client()
    created = client.post("/api/v1/customers", json={
        "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
        "phone": "+49 30 1234567", "city": "Berlin", "notes": "prefers mornings"})
    assert created.status_code == 201, created.json
    customer_id = created.json["id"]
    assert client.post(f"/api/v1/customers/{customer_id}/interactions", json={
        "type": "purchase", "summary": "bought a lamp for her flat", "amount": "120.50",
        "currency": "EUR"}).status_code == 201
    assert client.post("/api/v1/notes/notes", json={"customer_ref": customer_id,
                                                    "body": "called about Grace's order"}
                       ).status_code == 201
    assert client.post(f"/api/v1/customers/{customer_id}/consents", json={
        "channel": "email", "granted": True, "source": "signup form"}).status_code == 201
    return customer_id


def test_export_holds_kernel_and_plugin_data_in_one_document(notes_app, person, db):
    client = notes_app.test_client()
    response = client.get(f"/api/v1/customers/{person}/personal-data")
    assert response.status_code == 200
    document = response.json
    assert document["customer"]["email"] == "grace@example.com"
    assert document["customer"]["city"] == "Berlin"
    assert [i["type"] for i in document["interactions"]] == ["purchase"]
    assert document["consents"][0]["channel"] == "email"
    assert document["plugins"]["notes"] == {"notes": ["called about Grace's order"]}
    assert AuditEvent.select().where(AuditEvent.action == "personal_data.export",
                                     AuditEvent.object_id == str(person)).count() == 1


def test_cli_export_personal_data(notes_app, person, runner):
    result = runner.invoke(["customers", "export-personal-data", str(person)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["customer"]["last_name"] == "Hopper"
    assert document["plugins"]["notes"] == {"notes": ["called about Grace's order"]}
    assert runner.invoke(["customers", "export-personal-data", "999999"]).exit_code == 1


def test_erasure_anonymises_kernel_and_plugins_and_keeps_the_money(notes_app, person, db):
    client = notes_app.test_client()
    response = client.post(f"/api/v1/customers/{person}/erase")
    assert response.status_code == 200, response.json
    pseudonym = response.json["pseudonym"]
    assert pseudonym.startswith("erased-") and "notes" in response.json["plugins"]
    customer = Customer.get_by_id(person)
    assert customer.name == pseudonym
    assert (customer.first_name, customer.last_name, customer.email, customer.phone,
            customer.city, customer.notes) == (None, None, None, None, None, None)
    assert CustomerEmail.select().where(CustomerEmail.customer == person).count() == 0
    purchase = Interaction.get(Interaction.customer == person)
    assert (purchase.type, str(purchase.amount), purchase.summary) == ("purchase", "120.5000", None)
    notes = client.get("/api/v1/notes/notes").json
    assert notes[0]["body"] == f"[erased {pseudonym}]"
    assert not consent.has_consent(person, "email")
    erase = AuditEvent.get(AuditEvent.action == "erase", AuditEvent.object_id == str(person))
    assert "notes" in erase.detail["plugins"] and erase.actor == "admin@crmkit.test"
    trail = json.dumps([e.changes for e in AuditEvent.select().where(
        AuditEvent.object_type == "customer", AuditEvent.object_id == str(person))])
    assert "grace@example.com" not in trail and "Hopper" not in trail
    export = client.get(f"/api/v1/customers/{person}/personal-data").get_data(as_text=True)
    assert "Grace" not in export and "grace@example.com" not in export
    assert client.post(f"/api/v1/customers/{person}/erase").status_code == 409


def test_cli_erase(notes_app, person, runner):
    result = runner.invoke(["customers", "erase", str(person), "--yes"])
    assert result.exit_code == 0, result.output
    assert "erased customer" in result.output and "notes" in result.output


class Refuses:
    manifest = Manifest(name="refuses")

    @hookimpl
    def erase_personal_data(self, customer, pseudonym):
        raise RuntimeError("legal hold on this person")


def test_a_plugin_refusing_erasure_leaves_everything_as_it_was(make_app, db):
    app = make_app([Refuses()])
    client = app.test_client()
    customer_id = client.post("/api/v1/customers", json={"first_name": "Kept",
                                                         "email": "kept@example.com"}).json["id"]
    response = client.post(f"/api/v1/customers/{customer_id}/erase")
    assert response.status_code == 500
    assert Customer.get_by_id(customer_id).email == "kept@example.com"
    assert AuditEvent.select().where(AuditEvent.action == "erase").count() == 0


def test_only_holders_of_the_privacy_permissions_export_and_erase(make_client, client):
    customer_id = client.post("/api/v1/customers", json={"first_name": "P"}).json["id"]
    agent = make_client("agent")
    assert agent.get(f"/api/v1/customers/{customer_id}/personal-data").status_code == 403
    assert agent.post(f"/api/v1/customers/{customer_id}/erase").status_code == 403


def test_consent_per_channel_with_history_and_audit(client, db):
    customer_id = client.post("/api/v1/customers", json={"first_name": "C"}).json["id"]
    assert not consent.has_consent(customer_id, "sms")  # no record, no consent
    url = f"/api/v1/customers/{customer_id}/consents"
    client.post(url, json={"channel": "sms", "granted": True, "source": "shop till"})
    client.post(url, json={"channel": "email", "granted": True, "source": "web form"})
    state = client.post(url, json={"channel": "sms", "granted": False, "source": "reply STOP"})
    assert state.status_code == 201
    current = {c["channel"]: c for c in state.json["current"]}
    assert current["sms"]["granted"] is False and current["sms"]["source"] == "reply STOP"
    assert current["email"]["granted"] is True
    assert [h["granted"] for h in state.json["history"] if h["channel"] == "sms"] == [True, False]
    assert consent.has_consent(customer_id, "email") and not consent.has_consent(customer_id, "sms")
    other = client.post("/api/v1/customers", json={"first_name": "D"}).json["id"]
    client.post(f"/api/v1/customers/{other}/consents",
                json={"channel": "email", "granted": True, "source": "web form"})
    emailable = (Customer.select(Customer.id)
                 .where(Customer.id.in_(consent.consenting_customer_ids("email")))
                 .order_by(Customer.id))
    assert [c.id for c in emailable] == [customer_id, other]
    assert [c.id for c in Customer.select().where(
        Customer.id.in_(consent.consenting_customer_ids("sms")))] == []
    actions = [e.action for e in AuditEvent.select().where(
        AuditEvent.object_type == "customer", AuditEvent.object_id == str(customer_id),
        AuditEvent.action.startswith("consent")).order_by(AuditEvent.id)]
    assert actions == ["consent.grant", "consent.grant", "consent.withdraw"]
    bad = client.post(url, json={"channel": "E-Mail!", "granted": True, "source": "x"})
    assert bad.status_code == 422


def test_cli_consent(client, runner):
    customer_id = client.post("/api/v1/customers", json={"first_name": "E"}).json["id"]
    result = runner.invoke(["customers", "consent", str(customer_id), "post", "grant",
                            "--source", "letter"])
    assert result.exit_code == 0, result.output
    listed = client.get(f"/api/v1/customers/{customer_id}/consents").json["current"]
    assert listed[0]["channel"] == "post" and listed[0]["granted"] is True


def test_erasure_redacts_the_person_from_the_event_feed(notes_app, person):
    client = notes_app.test_client()

    def feed_text():
        return json.dumps(client.get("/api/v1/events?limit=200").json["events"])

    assert "grace@example.com" in feed_text()
    assert client.post(f"/api/v1/customers/{person}/erase").status_code == 200
    text = feed_text()
    assert "grace@example.com" not in text and "Hopper" not in text
    erased = [e for e in client.get("/api/v1/events?limit=200").json["events"]
              if e["type"] == "customer.erased"]
    assert len(erased) == 1
