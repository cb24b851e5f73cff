"""Customer writes at their edges: names, company visibility, races, deleting a merge survivor,
search by any email. Each of these once answered wrongly or with a 500."""
import threading

from crmkit import Manifest, hookimpl
from crmkit.testing import _is_postgres, configured_test_database


def errors(response) -> dict:
    return {field: messages[0] for field, messages in response.json["errors"]["json"].items()}


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json


def test_a_persons_name_is_always_made_from_the_name_fields(client):
    ann = create(client, first_name="Ann", last_name="Lee")
    for body in ({"name": None}, {"name": ""}, {"name": "Zed"}):
        response = client.patch(f"/api/v1/customers/{ann['id']}", json=body)
        assert response.status_code == 200, (body, response.json)
        assert response.json["name"] == "Ann Lee", body
    solo = create(client, name="Mononym")  # no first or last name: the name given is used
    response = client.patch(f"/api/v1/customers/{solo['id']}", json={"name": None})
    assert response.status_code == 422
    assert errors(response) == {"first_name": "The name cannot be empty."}
    company = create(client, kind="company", name="Acme")
    response = client.patch(f"/api/v1/customers/{company['id']}", json={"name": None})
    assert response.status_code == 422 and set(errors(response)) == {"name"}
    assert client.get(f"/api/v1/customers/{company['id']}").json["name"] == "Acme"


def test_a_name_too_long_in_total_is_refused_on_the_field(client):
    first, last = "F" * 150, "L" * 150  # each fits its column; together 301 characters
    response = client.post("/api/v1/customers", json={"first_name": first, "last_name": last})
    assert response.status_code == 422
    assert errors(response) == {
        "last_name": "First and last name together are longer than 300 characters."}
    ann = create(client, first_name=first)
    response = client.patch(f"/api/v1/customers/{ann['id']}", json={"last_name": last})
    assert response.status_code == 422 and set(errors(response)) == {"last_name"}
    assert client.get(f"/api/v1/customers/{ann['id']}").json["last_name"] is None


def test_a_company_the_caller_cannot_see_answers_as_a_missing_one(make_client):
    agent, other = make_client("agent"), make_client("agent")
    theirs = create(other, kind="company", name="TheirCo")
    missing = theirs["id"] + 1000
    answers = []
    for company_id in (theirs["id"], missing):
        response = agent.post("/api/v1/customers", json={"first_name": "X",
                                                         "company_id": company_id})
        assert response.status_code == 422
        answers.append(errors(response)["company_id"].replace(str(company_id), "N"))
    assert answers[0] == answers[1] == "Customer N does not exist."
    mine = create(agent, first_name="Mine")
    response = agent.patch(f"/api/v1/customers/{mine['id']}", json={"company_id": theirs["id"]})
    assert response.status_code == 422
    assert other.get(f"/api/v1/customers/{theirs['id']}/profile").json["people"] == []


def test_deleting_a_merge_survivor_deletes_the_customers_merged_into_it(client):
    survivor = create(client, first_name="Ada", email="ada@example.com")
    duplicate = create(client, first_name="Ada", last_name="L", email="ada@work.example")
    older = create(client, first_name="A.", last_name="Lovelace")
    assert client.post(f"/api/v1/customers/{duplicate['id']}/merge",
                       json={"duplicate_id": older["id"]}).status_code == 200
    assert client.post(f"/api/v1/customers/{survivor['id']}/merge",
                       json={"duplicate_id": duplicate["id"]}).status_code == 200
    assert client.delete(f"/api/v1/customers/{survivor['id']}").status_code == 204
    for gone in (survivor, duplicate, older):
        response = client.get(f"/api/v1/customers/{gone['id']}")
        assert response.status_code == 404, (gone["id"], response.json)
        assert "merged" not in response.json.get("message", "")
    assert client.get("/api/v1/customers").json["items"] == []


def test_search_finds_a_customer_by_any_of_its_emails(client):
    ann = create(client, first_name="Ann", email="ann@home.example",
                 other_emails=["ann.work@corp.example"])
    dup = create(client, first_name="Annie", email="annie@old.example")
    assert client.post(f"/api/v1/customers/{ann['id']}/merge",
                       json={"duplicate_id": dup["id"]}).status_code == 200

    def found(q):
        return [c["id"] for c in client.get("/api/v1/customers",
                                            query_string={"q": q}).json["items"]]

    assert found("ANN.WORK") == [ann["id"]]
    assert found("annie@old") == [ann["id"]]  # brought along by the merge
    assert found("nobody@") == []


def test_a_trailing_comma_in_the_tag_filter_names_no_blank_tag(client):
    vip = create(client, first_name="V", tags=["vip"])
    create(client, first_name="N")
    for tag in ("vip", "vip,", ",vip, "):
        items = client.get("/api/v1/customers", query_string={"tag": tag}).json["items"]
        assert [c["id"] for c in items] == [vip["id"]], tag


class _BothCheckFirst:
    """Holds each create after its checks until the other has checked too, so both pass the
    'email in use?' check before either stores the address (PostgreSQL: SQLite's writers take
    turns from the start of their transactions, so there the second one checks after)."""

    manifest = Manifest(name="both_check_first")

    def __init__(self):
        self.barrier = threading.Barrier(2, timeout=10)

    @hookimpl
    def validate_customer_change(self, customer, changes):
        if customer is None and _is_postgres(configured_test_database()):
            self.barrier.wait()
        return None


def test_two_creates_racing_for_one_email_get_a_422_not_a_500(make_app, make_client):
    app = make_app(plugins=[_BothCheckFirst()])
    from crmkit.testing import admin_token
    token = admin_token(app)
    results = []

    def post(email):
        client = app.test_client()
        response = client.post("/api/v1/customers", json={"first_name": "R", "email": email},
                               headers={"Authorization": f"Bearer {token}"})
        results.append((response.status_code,
                        errors(response) if response.status_code == 422 else None))

    threads = [threading.Thread(target=post, args=(email,))
               for email in ("race@example.com", "RACE@Example.com")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(status for status, _ in results) == [201, 422], results
    [refused] = [found for status, found in results if status == 422]
    assert set(refused) == {"email"} and refused["email"].startswith("Already used by")
    if _is_postgres(configured_test_database()):  # where both checks passed before a write
        assert refused["email"] == "Already used by another customer."


def test_an_email_in_use_names_its_customer_only_to_callers_who_may_see_it(make_client):
    agent, other = make_client("agent"), make_client("agent")
    mine = create(agent, first_name="Mine", email="mine@example.com")
    create(other, first_name="Theirs", email="theirs@example.com")
    for email, expected in (("MINE@example.com", f"Already used by customer {mine['id']}."),
                            ("THEIRS@example.com", "Already used by another customer.")):
        response = agent.post("/api/v1/customers", json={"first_name": "X", "email": email})
        assert response.status_code == 422
        assert errors(response) == {"email": expected}
