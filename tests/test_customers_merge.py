"""Merging duplicates: nothing lost, the merged id points to the survivor, bad input refused."""
import peewee
import pytest

from crmkit import Manifest, db, hookimpl
from crmkit.db import BaseModel


class ProbeVisit(BaseModel):
    """A plugin's own record about a customer, which only the plugin knows how to re-point."""

    customer_id = peewee.IntegerField(index=True)
    venue = peewee.CharField(max_length=100)

    class Meta:
        table_name = "probe_visit"


class Probe:
    """A throwaway plugin implementing ``customer_merged``; can refuse a merge on request."""

    manifest = Manifest(name="probe")

    def __init__(self):
        self.calls = []
        self.refuse = False

    @hookimpl
    def register_models(self):
        return [ProbeVisit]

    @hookimpl
    def customer_merged(self, survivor, merged):
        self.calls.append((survivor.id, merged.id, merged.merged_into_id,
                           Customer.get_by_id(merged.id).merged_into_id))
        if self.refuse:
            raise RuntimeError("the probe refuses this merge")
        ProbeVisit.update(customer_id=survivor.id).where(
            ProbeVisit.customer_id == merged.id).execute()


from crmkit.customers.models import Customer  # noqa: E402  (used by the probe above)


@pytest.fixture
def probe():
    return Probe()


@pytest.fixture
def crmkit_plugins(probe):
    return [probe]


def in_app(app, func):
    with app.app_context(), db.connection(), db.write_transaction():
        return func()


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json["id"]


def record(client, customer_id, **data):
    response = client.post(f"/api/v1/customers/{customer_id}/interactions", json=data)
    assert response.status_code == 201, response.json
    return response.json["id"]


def merge(client, survivor, duplicate):
    return client.post(f"/api/v1/customers/{survivor}/merge", json={"duplicate_id": duplicate})


def define(client, name, type, **extra):
    response = client.post("/api/v1/custom-fields", json={"name": name, "type": type, **extra})
    assert response.status_code == 201, response.json


@pytest.fixture
def pair(client, app):
    """Two records of one person, each with its own history."""
    define(client, "tier", "choice", choices=["gold", "silver"])
    define(client, "since", "date")
    define(client, "interests", "multi_choice", choices=["heat pumps", "solar", "boilers"])
    keep = create(client, first_name="Anna", last_name="Smith", email="anna@example.com",
                  other_emails=["anna.smith@work.example"], phone="+44 20 7946 0958",
                  tags=["vip"], custom={"tier": "gold"}, status="prospect")
    fold = create(client, first_name="Anna", last_name="Smyth", email="a.smith@home.example",
                  other_emails=["anna+shop@example.com"],
                  phone="+44 20 7946 0111", other_phones=["+44 20 7946 0958"],
                  tags=["VIP", "newsletter"], city="Leeds", country="GB", postal_code="LS1 1AA",
                  custom={"tier": "silver", "since": "2020-01-31", "interests": ["solar"]},
                  notes="Prefers email.")
    for kind in ("call", "email"):
        record(client, keep, type=kind, summary=f"{kind} with the survivor")
    record(client, fold, type="meeting", summary="site visit")
    record(client, fold, type="purchase", amount="199.90", currency="GBP",
           external_id="order-7", occurred_at="2025-05-01T10:00:00Z")
    record(client, fold, type="note", summary="asked about solar")
    in_app(app, lambda: ProbeVisit.insert_many([
        {"customer_id": fold, "venue": "Leeds"}, {"customer_id": fold, "venue": "York"},
        {"customer_id": keep, "venue": "London"}]).execute())
    return keep, fold


def test_merge_loses_nothing(client, app, pair, probe):
    keep, fold = pair
    response = merge(client, keep, fold)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["merged_id"] == fold
    assert body["moved"] == {"interactions": 3, "tags": 1, "custom_values": 2, "emails": 2,
                             "phones": 1, "people": 0}

    survivor = client.get(f"/api/v1/customers/{keep}").json
    assert survivor == body["survivor"]
    # The survivor's primary contact points stay primary; the duplicate's join as others, and
    # a number both had is kept once.
    assert survivor["email"] == "anna@example.com"
    assert sorted(survivor["other_emails"]) == ["a.smith@home.example", "anna+shop@example.com",
                                                "anna.smith@work.example"]
    assert survivor["phone"] == "+442079460958"
    assert survivor["other_phones"] == ["+442079460111"]
    assert survivor["tags"] == ["newsletter", "vip"]
    # Own custom values win; missing ones are taken.
    assert survivor["custom"] == {"tier": "gold", "since": "2020-01-31", "interests": ["solar"]}
    # Blank fields are filled, the address as one block; a purchase makes the survivor active.
    assert (survivor["city"], survivor["postal_code"], survivor["country"]) == \
        ("Leeds", "LS1 1AA", "GB")
    assert survivor["status"] == "active"
    assert survivor["notes"] == "Prefers email."
    assert survivor["name"] == "Anna Smith"
    assert body["changes"]["tags"] == [["vip"], ["newsletter", "vip"]]

    timeline = client.get(f"/api/v1/customers/{keep}/interactions").json["items"]
    assert sorted(i["type"] for i in timeline) == ["call", "email", "meeting", "note",
                                                   "purchase"]
    assert {i["customer_id"] for i in timeline} == {keep}
    profile = client.get(f"/api/v1/customers/{keep}/profile").json
    assert profile["timeline"]["count"] == 5
    assert profile["figures"]["purchase_count"] == 1
    assert profile["figures"]["revenue"]["GBP"]["net"] == "199.9000"

    # Every plugin re-pointed its records through the hook, after the kernel marked the merge.
    assert probe.calls == [(keep, fold, keep, keep)]
    visits = in_app(app, lambda: sorted(ProbeVisit.select(ProbeVisit.customer_id,
                                                          ProbeVisit.venue).tuples()))
    assert visits == [(keep, "Leeds"), (keep, "London"), (keep, "York")]

    # The same purchase re-delivered later still counts once, on the survivor.
    again = client.post(f"/api/v1/customers/{keep}/interactions",
                        json={"type": "purchase", "amount": "199.90", "currency": "GBP",
                              "external_id": "order-7"})
    assert again.status_code == 201
    assert client.get(f"/api/v1/customers/{keep}/profile").json["figures"]["purchase_count"] == 1


def test_merged_id_answers_404_naming_the_survivor(client, app, pair):
    keep, fold = pair
    assert merge(client, keep, fold).status_code == 200
    for path in (f"/api/v1/customers/{fold}", f"/api/v1/customers/{fold}/profile",
                 f"/api/v1/customers/{fold}/interactions"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json["merged_into"] == keep
        assert str(keep) in response.json["message"]
    listed = [c["id"] for c in client.get("/api/v1/customers").json["items"]]
    assert listed == [keep]
    # The duplicate's contact points now find the survivor (as an import matching on them would).
    from crmkit.customers.service import find_by_contact
    for email, phone in (("A.Smith@home.example", None), (None, "+44 20 7946 0111")):
        assert in_app(app, lambda: find_by_contact(email=email, phone=phone).id) == keep
    # And the mailbox is free of the merged row: it cannot be given to a new customer.
    taken = client.post("/api/v1/customers", json={"first_name": "X",
                                                   "email": "A.Smith@home.example"})
    assert taken.status_code == 422
    assert str(keep) in taken.json["errors"]["json"]["email"][0]


def test_merge_is_recorded_as_an_event_and_in_the_audit_trail(client, app, pair):
    keep, fold = pair
    assert merge(client, keep, fold).status_code == 200
    from crmkit.audit.models import AuditEvent
    from crmkit.events import Event

    def read():
        events = list(Event.select().where(Event.type == "customer.merged"))
        audits = list(AuditEvent.select().where(AuditEvent.action.startswith("customer.merge"))
                      .order_by(AuditEvent.id))
        return events, audits

    events, audits = in_app(app, read)
    assert len(events) == 1
    assert (events[0].subject, events[0].subject_id) == ("customer", str(keep))
    import json
    payload = json.loads(events[0].payload)
    assert payload["survivor"]["id"] == keep
    assert payload["merged"]["id"] == fold
    assert payload["merged"]["email"] == "a.smith@home.example"
    assert payload["moved"]["interactions"] == 3
    assert [(a.action, a.object_id) for a in audits] == [
        ("customer.merge", str(keep)), ("customer.merged_into", str(fold))]
    from crmkit.auth.models import User
    from crmkit.testing import ADMIN_EMAIL
    admin = in_app(app, lambda: User.get(User.email == ADMIN_EMAIL).id)
    assert [a.actor_id for a in audits] == [admin, admin]
    assert audits[0].detail["merged_id"] == fold
    assert audits[0].changes["status"] == ["prospect", "active"]
    assert audits[1].changes == {"merged_into": [None, keep]}


def test_hook_customer_merged(client, app, pair, probe):
    keep, fold = pair
    probe.refuse = True
    response = merge(client, keep, fold)
    assert response.status_code == 500
    # The plugin refused inside the transaction: both customers are exactly as they were.
    assert client.get(f"/api/v1/customers/{fold}").status_code == 200
    assert len(client.get(f"/api/v1/customers/{fold}/interactions").json["items"]) == 3
    assert client.get(f"/api/v1/customers/{keep}").json["tags"] == ["vip"]
    visits = in_app(app, lambda: sorted(ProbeVisit.select(ProbeVisit.customer_id).tuples()))
    assert visits == [(keep,), (fold,), (fold,)]

    probe.refuse = False
    assert merge(client, keep, fold).status_code == 200
    assert probe.calls[-1] == (keep, fold, keep, keep)
    visits = in_app(app, lambda: sorted(ProbeVisit.select(ProbeVisit.customer_id).tuples()))
    assert visits == [(keep,), (keep,), (keep,)]


def test_merging_a_company_moves_its_people(client):
    acme = create(client, kind="company", name="Acme Heating", tags=["b2b"])
    acme_again = create(client, kind="company", name="ACME Heating Ltd", city="Bristol")
    bob = create(client, first_name="Bob", last_name="Stone", company_id=acme)
    cy = create(client, first_name="Cy", last_name="Ash", company_id=acme_again)
    dee = create(client, first_name="Dee", last_name="Oak", company_id=acme_again)
    response = merge(client, acme, acme_again)
    assert response.status_code == 200, response.json
    assert response.json["moved"]["people"] == 2
    people = client.get(f"/api/v1/companies/{acme}/people").json["items"]
    assert sorted(p["id"] for p in people) == sorted([bob, cy, dee])
    moved_person = client.get(f"/api/v1/customers/{cy}").json
    assert moved_person["company_id"] == acme
    assert moved_person["updated_at"] > moved_person["created_at"]
    assert client.get(f"/api/v1/customers/{acme}").json["city"] == "Bristol"


def test_earlier_merges_into_the_duplicate_point_at_the_final_survivor(client):
    a = create(client, first_name="Ann", last_name="One")
    b = create(client, first_name="Ann", last_name="Two")
    c = create(client, first_name="Ann", last_name="Three")
    assert merge(client, b, c).status_code == 200
    assert merge(client, a, b).status_code == 200
    for gone in (b, c):
        response = client.get(f"/api/v1/customers/{gone}")
        assert (response.status_code, response.json["merged_into"]) == (404, a)


def test_survivor_takes_the_older_start_and_keeps_its_own_attribution(client, app):
    first = create(client, first_name="Old", last_name="Record", source_channel="referral",
                   utm_campaign="spring")
    second = create(client, first_name="New", last_name="Record", source_channel="ads",
                    utm_source="search", owner_id=None)
    created_first = client.get(f"/api/v1/customers/{first}").json["created_at"]
    response = merge(client, second, first)
    assert response.status_code == 200
    survivor = response.json["survivor"]
    assert survivor["created_at"] == created_first
    # Attribution is one block: the survivor had one, so nothing is spliced in.
    assert (survivor["source_channel"], survivor["utm_source"], survivor["utm_campaign"]) == \
        ("ads", "search", None)


@pytest.fixture
def three(client):
    person = create(client, first_name="Pat", last_name="Lee", email="pat@example.com")
    other = create(client, first_name="Pat", last_name="Leigh", tags=["x"])
    company = create(client, kind="company", name="Lee Ltd")
    record(client, other, type="call")
    return person, other, company


@pytest.mark.parametrize("case, status, field", [
    ("self", 422, "duplicate_id"),
    ("unknown duplicate", 422, "duplicate_id"),
    ("unknown survivor", 404, None),
    ("person and company", 422, "duplicate_id"),
    ("missing body", 422, "duplicate_id"),
    ("string id", 422, "duplicate_id"),
    ("zero id", 422, "duplicate_id"),
])
def test_bad_merges_are_refused_and_store_nothing(client, three, case, status, field):
    person, other, company = three
    survivor, body = {
        "self": (person, {"duplicate_id": person}),
        "unknown duplicate": (person, {"duplicate_id": 9999}),
        "unknown survivor": (9999, {"duplicate_id": person}),
        "person and company": (person, {"duplicate_id": company}),
        "missing body": (person, {}),
        "string id": (person, {"duplicate_id": "two"}),
        "zero id": (person, {"duplicate_id": 0}),
    }[case]
    before = client.get("/api/v1/customers?sort=id").json["items"]
    response = client.post(f"/api/v1/customers/{survivor}/merge", json=body)
    assert response.status_code == status, response.json
    if field:
        assert field in response.json["errors"]["json"]
    assert client.get("/api/v1/customers?sort=id").json["items"] == before
    assert len(client.get(f"/api/v1/customers/{other}/interactions").json["items"]) == 1


def test_already_merged_customers_cannot_be_merged_again(client, three):
    person, other, _ = three
    assert merge(client, person, other).status_code == 200
    again = merge(client, person, other)
    assert again.status_code == 409
    assert again.json["merged_into"] == person
    assert "already merged" in again.json["message"]
    into_merged = merge(client, other, person)
    assert into_merged.status_code == 409
    assert into_merged.json["merged_into"] == person
    assert f"merge into customer {person}" in into_merged.json["message"]


def test_merging_needs_the_merge_permission(app, make_client, three):
    person, other, _ = three
    agent = make_client("agent")
    response = agent.post(f"/api/v1/customers/{person}/merge", json={"duplicate_id": other})
    assert response.status_code == 403
    assert response.json["errors"]["permission"] == "customers:merge"
    anonymous = app.test_client(token=None)
    assert anonymous.post(f"/api/v1/customers/{person}/merge",
                          json={"duplicate_id": other}).status_code == 401


def test_two_merges_of_one_pair_at_once_let_exactly_one_win(app, client):
    """Merging A into B and B into A at the same moment: one merge wins, the other is refused
    with 409, and no interaction is lost or doubled."""
    import threading

    from crmkit.customers.merge import merge_customers
    from crmkit.errors import Conflict

    a = create(client, first_name="Ann")
    b = create(client, first_name="Ann")
    for who in (a, b):
        record(client, who, type="call")
    barrier = threading.Barrier(2, timeout=10)
    outcomes = {}

    def run(survivor, duplicate):
        with app.app_context(), db.connection():
            barrier.wait()
            try:
                with db.write_transaction():
                    merge_customers(survivor, duplicate)
                outcomes[survivor] = "merged"
            except Conflict:
                outcomes[survivor] = "conflict"
            except Exception as exc:  # reported below, not swallowed
                outcomes[survivor] = repr(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in ((a, b), (b, a))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["conflict", "merged"], outcomes
    winner = next(k for k, v in outcomes.items() if v == "merged")
    assert len(client.get(f"/api/v1/customers/{winner}/interactions").json["items"]) == 2
    loser = b if winner == a else a
    assert client.get(f"/api/v1/customers/{loser}").json["merged_into"] == winner
