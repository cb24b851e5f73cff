"""Companies and their people: the links stay consistent when a company is deleted, turned into a
person or merged, also when another request attaches a person at the same moment."""
import datetime as dt
import threading
import time

import pytest

from crmkit import Manifest, db, hookimpl
from crmkit.customers.contacts import email_key
from crmkit.customers.models import Customer, CustomerEmail
from crmkit.testing import _is_postgres, configured_test_database

on_postgres = pytest.mark.skipif(
    not _is_postgres(configured_test_database()),
    reason="concurrent write transactions only interleave on PostgreSQL; SQLite's writers take "
           "turns (BEGIN IMMEDIATE), so these races cannot happen there")

ROUNDS = 20  # per race: enough to see both orders many times, short enough for every run


class Updates:
    """A throwaway plugin noting every customer_updated hook call; for one customer
    (``stall_for``) it stops the transaction until the test lets it go, then takes the address
    ``grab`` for that customer too."""

    manifest = Manifest(name="updates")

    def __init__(self):
        self.seen = []
        self.stall_for = self.grab = self.pid = None
        self.stalled, self.release = threading.Event(), threading.Event()

    @hookimpl
    def customer_updated(self, customer, changes):
        self.seen.append((customer.id, changes))
        if customer.id == self.stall_for:
            self.stall_for = None
            self.pid = db.database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
            self.stalled.set()
            assert self.release.wait(10)
            CustomerEmail.insert(customer=customer.id, email=self.grab,
                                 email_key=email_key(self.grab), is_primary=False).execute()


@pytest.fixture
def updates():
    return Updates()


@pytest.fixture
def crmkit_plugins(updates):
    return [updates]


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json["id"]


def company(client, name="Acme"):
    return create(client, kind="company", name=name)


def events_about(client, customer_id):
    response = client.get("/api/v1/events", query_string={"subject_id": str(customer_id)})
    return response.json["events"]


def audit_of(client, customer_id):
    return client.get("/api/v1/audit", query_string={"object_type": "customer",
                                                     "object_id": str(customer_id)}).json["items"]


def stored(app, customer_id):
    with app.app_context(), db.connection():
        return Customer.get_or_none(Customer.id == customer_id)


# Deleting a company


def test_deleting_a_company_changes_its_people_visibly(app, client, updates):
    acme = company(client)
    bob = create(client, first_name="Bob", company_id=acme)
    time.sleep(0.01)
    mark = dt.datetime.now(dt.timezone.utc).isoformat()

    assert client.delete(f"/api/v1/customers/{acme}").status_code == 204

    after = client.get(f"/api/v1/customers/{bob}").json
    assert after["company_id"] is None
    changed = client.get("/api/v1/customers", query_string={"updated_after": mark}).json["items"]
    assert [c["id"] for c in changed] == [bob]
    entries = [a for a in audit_of(client, bob) if a["action"] == "update"]
    assert [a["changes"] for a in entries] == [{"company_id": [acme, None]}]
    updated = [e for e in events_about(client, bob) if e["type"] == "customer.updated"]
    assert [e["payload"]["changes"] for e in updated] == [{"company_id": [acme, None]}]
    assert (bob, {"company_id": [acme, None]}) in updates.seen


def test_deleting_a_company_says_nothing_about_a_person_merged_away(app, client):
    acme = company(client)
    ann = create(client, first_name="Ann", company_id=acme)
    ann_again = create(client, first_name="Ann")
    assert client.post(f"/api/v1/customers/{ann_again}/merge",
                       json={"duplicate_id": ann}).status_code == 200
    # A row merged before merges cleared the company still names it.
    with app.app_context(), db.connection(), db.write_transaction():
        Customer.update(company=acme).where(Customer.id == ann).execute()

    assert client.delete(f"/api/v1/customers/{acme}").status_code == 204

    assert stored(app, ann).company_id is None
    assert "customer.updated" not in [e["type"] for e in events_about(client, ann)]
    # The survivor took the company in the merge and is told it left.
    updated = [e for e in events_about(client, ann_again) if e["type"] == "customer.updated"]
    assert [e["payload"]["changes"] for e in updated] == [{"company_id": [acme, None]}]


def test_deleting_a_company_without_people_emits_no_update(client):
    acme = company(client)
    assert client.delete(f"/api/v1/customers/{acme}").status_code == 204
    assert [e["type"] for e in events_about(client, acme)] == ["customer.created",
                                                               "customer.deleted"]


# Merged-away people and a company becoming a person


def test_a_merged_away_person_does_not_keep_its_company_a_company(app, client):
    c, d = company(client, "C"), company(client, "D")
    ann = create(client, first_name="Ann", company_id=c)
    ann_again = create(client, first_name="Ann", company_id=d)
    assert client.post(f"/api/v1/customers/{ann_again}/merge",
                       json={"duplicate_id": ann}).status_code == 200
    assert client.get(f"/api/v1/companies/{c}/people").json["items"] == []

    # The merge cleared the merged row's company and said so in its audit entry.
    assert stored(app, ann).company_id is None
    merged_into = [a for a in audit_of(client, ann) if a["action"] == "customer.merged_into"]
    assert merged_into[0]["changes"]["company_id"] == [c, None]

    response = client.patch(f"/api/v1/customers/{c}", json={"kind": "person", "first_name": "Cee"})
    assert response.status_code == 200, response.json
    assert response.json["kind"] == "person"
    assert client.patch(f"/api/v1/customers/{ann}", json={"company_id": None}).status_code == 404


def test_a_row_merged_before_the_fix_does_not_count_as_a_person_of_the_company(app, client):
    c = company(client, "C")
    ann, ann_again = create(client, first_name="Ann"), create(client, first_name="Ann")
    assert client.post(f"/api/v1/customers/{ann_again}/merge",
                       json={"duplicate_id": ann}).status_code == 200
    with app.app_context(), db.connection(), db.write_transaction():
        Customer.update(company=c).where(Customer.id == ann).execute()
    response = client.patch(f"/api/v1/customers/{c}", json={"kind": "person", "first_name": "Cee"})
    assert response.status_code == 200, response.json


def test_a_company_with_people_stays_a_company(client):
    c = company(client, "C")
    create(client, first_name="Bob", company_id=c)
    response = client.patch(f"/api/v1/customers/{c}", json={"kind": "person", "first_name": "Cee"})
    assert response.status_code == 422
    assert "kind" in response.json["errors"]["json"]


# The people of a company


def test_people_of_a_person_is_404_saying_it_is_not_a_company(client):
    bob = create(client, first_name="Bob")
    response = client.get(f"/api/v1/companies/{bob}/people")
    assert response.status_code == 404
    assert "not a company" in response.json["message"]


def test_people_of_a_company_still_listed(client):
    c = company(client)
    bob = create(client, first_name="Bob", company_id=c)
    assert [p["id"] for p in client.get(f"/api/v1/companies/{c}/people").json["items"]] == [bob]


# Races (PostgreSQL): two requests behind a barrier, round after round


def side_by_side(app, **requests):
    """Run each ``name=lambda client: response`` at once; returns {name: response}."""
    barrier = threading.Barrier(len(requests))
    answers = {}

    def run(name, send):
        client = app.test_client()
        barrier.wait()
        answers[name] = send(client)

    threads = [threading.Thread(target=run, args=item) for item in requests.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def field_errors(response):
    return (response.json or {}).get("errors", {}).get("json", {})


@on_postgres
def test_company_becoming_a_person_while_a_person_joins_it(app, client):
    wins = {"flip": 0, "join": 0}
    for i in range(ROUNDS):
        c = company(client, f"C{i}")
        # Alternately a new person and an existing one moving in: both check the company.
        mover = create(client, first_name="Mover") if i % 2 else None
        join = ((lambda cl: cl.patch(f"/api/v1/customers/{mover}", json={"company_id": c}))
                if mover else
                (lambda cl: cl.post("/api/v1/customers", json={"first_name": "P",
                                                               "company_id": c})))
        answers = side_by_side(
            app, flip=lambda cl: cl.patch(f"/api/v1/customers/{c}",
                                          json={"kind": "person", "first_name": "Now"}),
            join=join)
        flip, joined = answers["flip"], answers["join"]
        assert flip.status_code in (200, 422), flip.json
        assert joined.status_code in (200, 201, 422), joined.json
        # Exactly one wins, and the loser says why on its own field.
        assert (flip.status_code == 200) != (joined.status_code in (200, 201)), (flip.json,
                                                                                  joined.json)
        if flip.status_code == 200:
            wins["flip"] += 1
            assert "is a person, not a company" in field_errors(joined)["company_id"][0]
        else:
            wins["join"] += 1
            assert "has people" in field_errors(flip)["kind"][0]
        kind = client.get(f"/api/v1/customers/{c}").json["kind"]
        people = client.get("/api/v1/customers", query_string={"company_id": c}).json["items"]
        assert kind == "company" or people == []
    assert sum(wins.values()) == ROUNDS


@on_postgres
def test_company_deleted_while_a_person_joins_it(app, client):
    for i in range(ROUNDS):
        c = company(client, f"C{i}")
        answers = side_by_side(
            app, delete=lambda cl: cl.delete(f"/api/v1/customers/{c}"),
            join=lambda cl: cl.post("/api/v1/customers", json={"first_name": "P",
                                                               "company_id": c}))
        deleted, joined = answers["delete"], answers["join"]
        assert deleted.status_code == 204, deleted.json
        assert joined.status_code in (201, 422), joined.json
        if joined.status_code == 422:
            assert "does not exist" in field_errors(joined)["company_id"][0]
        else:
            # Joined first: the delete then took it off the company, visibly.
            person = joined.json["id"]
            assert client.get(f"/api/v1/customers/{person}").json["company_id"] is None
            assert "customer.updated" in [e["type"] for e in events_about(client, person)]


@on_postgres
def test_company_deleted_while_its_people_are_merged(app, client):
    """The merge hands the duplicate's company to the survivor, the delete takes people off the
    company: both lock the company before the people, so neither waits on the other in a
    circle (a deadlock would answer 409 asking to retry, never a 500)."""
    retried = 0
    for i in range(ROUNDS):
        c = company(client, f"C{i}")
        ann = create(client, first_name="Ann", company_id=c)
        ann_again = create(client, first_name="Ann")
        answers = side_by_side(
            app, delete=lambda cl: cl.delete(f"/api/v1/customers/{c}"),
            merge=lambda cl: cl.post(f"/api/v1/customers/{ann_again}/merge",
                                     json={"duplicate_id": ann}))
        assert answers["delete"].status_code in (204, 409), answers["delete"].json
        assert answers["merge"].status_code in (200, 409), answers["merge"].json
        for response in answers.values():
            if response.status_code == 409:
                retried += 1
                assert response.json["retry"] is True
        if answers["delete"].status_code == 204:
            assert client.get(f"/api/v1/customers/{ann_again}").json["company_id"] is None
    assert retried == 0  # lock order: no deadlock to retry


@on_postgres
def test_a_deadlock_in_a_customer_request_answers_retry(app, client, updates):
    """A deadlock the service cannot foresee (here two customers taking the same two new
    addresses in opposite orders, each waiting for the other's unique index entry): PostgreSQL
    breaks the circle, and the request it stops answers a retryable 409, not a 500 nor
    "database unavailable"."""
    a, b = create(client, first_name="A"), create(client, first_name="B")
    updates.stall_for, updates.grab = a, "y@example.test"
    first = {}
    thread_a = threading.Thread(target=lambda: first.setdefault("a", app.test_client().patch(
        f"/api/v1/customers/{a}", json={"email": "x@example.test"})))
    thread_a.start()  # takes x, then stops in its customer_updated hook
    assert updates.stalled.wait(10)
    second = {}
    thread_b = threading.Thread(target=lambda: second.setdefault("b", app.test_client().patch(
        f"/api/v1/customers/{b}", json={"email": "y@example.test",
                                        "other_emails": ["x@example.test"]})))
    thread_b.start()  # takes y, then waits for x
    with app.app_context(), db.connection():
        for _ in range(200):
            if db.database.execute_sql("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY("
                                       "pg_blocking_pids(pid))", (updates.pid,)).fetchone()[0]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the second request never waited for the first")
    updates.release.set()  # a now takes y as well: each waits for the other
    thread_a.join(30)
    thread_b.join(30)
    answers = [first["a"], second["b"]]
    assert sorted(r.status_code for r in answers) == [200, 409], [r.json for r in answers]
    refused = next(r for r in answers if r.status_code == 409)
    assert refused.json["retry"] is True
    assert "Send the request again" in refused.json["message"]
