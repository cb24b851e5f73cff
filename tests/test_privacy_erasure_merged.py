"""Erasure reaches every customer merged into the erased one, and recognises an erased customer
exactly rather than by a name prefix a real name can share."""
import json

from crmkit.audit.models import AuditEvent
from crmkit.customers.models import Customer, CustomerEmail, CustomerPhone
from crmkit.events import Event


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json["id"]


def merge(client, survivor, duplicate):
    response = client.post(f"/api/v1/customers/{survivor}/merge",
                           json={"duplicate_id": duplicate})
    assert response.status_code == 200, response.json


def held_about(ids):
    """Everything stored about these customers: rows, contact points, events and audit records."""
    keys = [str(i) for i in ids]
    return json.dumps({
        "customers": [c.__data__ for c in Customer.select().where(Customer.id.in_(ids))],
        "emails": [e.email for e in CustomerEmail.select().where(CustomerEmail.customer.in_(ids))],
        "phones": [p.number for p in
                   CustomerPhone.select().where(CustomerPhone.customer.in_(ids))],
        "events": [e.payload for e in Event.select().where(
            (Event.subject == "customer") & Event.subject_id.in_(keys))],
        "audit": [[a.changes, a.detail] for a in AuditEvent.select().where(
            (AuditEvent.object_type == "customer") & AuditEvent.object_id.in_(keys))],
    }, default=str)


SECRETS = ("Alice", "Secret", "alice2@secret.com", "Hidden Lane", "likes jazz", "79460222",
           "Chained", "carol@chain.example")


def test_erasure_erases_the_customers_merged_into_it(client, db):
    survivor = create(client, first_name="Anna", last_name="Keep", email="anna@keep.example")
    merged = create(client, first_name="Alice", last_name="Secret", email="alice2@secret.com",
                    phone="+44 20 7946 0222", street="1 Hidden Lane", city="Leeds",
                    notes="likes jazz")
    # Merged into ``merged`` first, so it reaches the survivor through a chain of merges.
    chained = create(client, first_name="Chained", last_name="Secret",
                     email="carol@chain.example")
    merge(client, merged, chained)
    merge(client, survivor, merged)
    ids = [survivor, merged, chained]
    assert all(s in held_about(ids) for s in SECRETS)

    response = client.post(f"/api/v1/customers/{survivor}/erase")
    assert response.status_code == 200, response.json

    held = held_about(ids)
    assert [s for s in SECRETS if s in held] == []
    assert "anna@keep.example" not in held and "Keep" not in held
    # Each merged-away row carries its own pseudonym and stays pointed at the survivor.
    for customer_id in (merged, chained):
        row = Customer.get_by_id(customer_id)
        assert row.name.startswith("erased-") and row.merged_into_id == survivor
        assert AuditEvent.get(AuditEvent.action == "erase", AuditEvent.object_id
                              == str(customer_id)).detail["erased_with"] == survivor
    erased = Event.select().where(Event.type == "customer.erased")
    assert sorted(int(e.subject_id) for e in erased) == sorted(ids)
    # Who merged what stays on the record.
    audit = AuditEvent.get(AuditEvent.action == "customer.merge",
                           AuditEvent.object_id == str(survivor))
    assert audit.detail["merged_id"] == merged and audit.detail["merged"]["id"] == merged


def test_a_real_name_starting_like_a_pseudonym_can_be_erased(client, db):
    company = create(client, kind="company", name="erased-things Ltd",
                     email="info@erased-things.example", phone="+44 20 7946 0333")
    person = create(client, first_name="erased-joe", last_name="Bloggs",
                    email="joe@example.com")
    for customer_id in (company, person):
        response = client.post(f"/api/v1/customers/{customer_id}/erase")
        assert response.status_code == 200, response.json
        assert client.post(f"/api/v1/customers/{customer_id}/erase").status_code == 409
    held = held_about([company, person])
    assert "erased-things" not in held and "erased-joe" not in held
    assert "joe@example.com" not in held and "79460333" not in held


def test_an_erased_customer_cannot_be_merged_either_way(client, db):
    """Merged into, an erased customer would hold a person's data again, and a second erasure
    is refused; merged away, it would hand its blanks to the survivor."""
    gone = create(client, first_name="Gone")
    assert client.post(f"/api/v1/customers/{gone}/erase").status_code == 200
    bob = create(client, first_name="Bob", email="bob@example.com", phone="+44 20 7946 0958")
    for survivor, duplicate in ((gone, bob), (bob, gone)):
        response = client.post(f"/api/v1/customers/{survivor}/merge",
                               json={"duplicate_id": duplicate})
        assert response.status_code == 409, response.json
        assert f"Customer {gone} was erased" in response.json["message"]
    assert CustomerEmail.get(CustomerEmail.customer == bob).email == "bob@example.com"
    assert Customer.get_by_id(bob).merged_into_id is None
