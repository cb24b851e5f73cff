"""Customers over HTTP: create, read, change, delete, list with filters, sorts and keyset pages."""
import pytest


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json


def test_create_person_with_contacts_tags_and_address(client):
    body = create(client, first_name="Ada", last_name="Lovelace", email="Ada@Example.com",
                  other_emails=["ada.l@work.example"], phone="+44 20 7946 0958",
                  city="London", country="GB", status="prospect", source_channel="web",
                  utm_campaign="spring", tags=["VIP", "newsletter", "vip"])
    assert body["name"] == "Ada Lovelace"
    assert body["email"] == "Ada@Example.com"
    assert body["other_emails"] == ["ada.l@work.example"]
    assert body["phone"] == "+442079460958"
    assert body["tags"] == ["newsletter", "VIP"]
    assert body["status"] == "prospect"
    assert body["created_at"].endswith("+00:00")
    fetched = client.get(f"/api/v1/customers/{body['id']}").json
    assert fetched == body


def test_company_lists_its_people(client):
    acme = create(client, kind="company", name="Acme Heating Ltd")
    create(client, first_name="Bob", last_name="Stone", company_id=acme["id"])
    create(client, first_name="Cy", last_name="Ash", company_id=acme["id"])
    people = client.get(f"/api/v1/companies/{acme['id']}/people").json["items"]
    assert [p["name"] for p in people] == ["Bob Stone", "Cy Ash"]
    profile = client.get(f"/api/v1/customers/{acme['id']}/profile").json
    assert [p["name"] for p in profile["people"]] == ["Bob Stone", "Cy Ash"]


@pytest.mark.parametrize("data, field, message", [
    ({"first_name": "A", "email": "not-an-email"}, "email", "Not a valid email address."),
    ({"first_name": "A", "phone": "12"}, "phone", "Not a valid phone number"),
    ({"first_name": "A", "status": "happy"}, "status", "Must be one of"),
    ({"first_name": "A", "country": "Germany"}, "country", "An ISO 3166 code"),
    ({"first_name": "A", "owner_id": "me"}, "owner_id", "Not a valid integer."),
    ({"first_name": "A", "id": 7}, "id", "Unknown field."),
    ({"first_name": "A", "created_at": "2020-01-01T00:00:00Z"}, "created_at", "Unknown field."),
    ({"first_name": "A", "custom": {"nope": 1}}, "custom.nope", "Unknown custom field"),
    ({"kind": "company"}, "name", "A company needs a name."),
    ({"last_name": ""}, "first_name", "Give a first name"),
    ({"first_name": "A", "company_id": 999}, "company_id", "does not exist"),
])
def test_bad_input_is_422_naming_the_field(client, data, field, message):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 422, response.json
    assert message in response.json["errors"]["json"][field][0]
    assert client.get("/api/v1/customers").json["items"] == []


def test_primary_email_is_unique_whatever_its_case(client):
    first = create(client, first_name="A", email="same@example.com")
    response = client.post("/api/v1/customers", json={"first_name": "B",
                                                       "email": "SAME@example.COM"})
    assert response.status_code == 422
    assert response.json["errors"]["json"]["email"] == [
        f"Already used by customer {first['id']}."]
    assert client.get("/api/v1/customers").json["items"] == [first]


def test_patch_changes_only_given_fields_and_replaces_lists(client):
    body = create(client, first_name="Ada", last_name="L", email="a@example.com",
                  tags=["one", "two"], city="Paris")
    response = client.patch(f"/api/v1/customers/{body['id']}",
                            json={"last_name": "Lovelace", "tags": ["three"],
                                  "other_emails": ["b@example.com"]})
    assert response.status_code == 200, response.json
    after = response.json
    assert (after["name"], after["city"], after["tags"]) == ("Ada Lovelace", "Paris", ["three"])
    assert (after["email"], after["other_emails"]) == ("a@example.com", ["b@example.com"])
    assert after["updated_at"] > body["updated_at"]


def test_patch_with_bad_field_changes_nothing(client):
    body = create(client, first_name="Ada", email="a@example.com", tags=["keep"])
    response = client.patch(f"/api/v1/customers/{body['id']}",
                            json={"first_name": "Eve", "email": "broken", "tags": ["gone"]})
    assert response.status_code == 422
    assert client.get(f"/api/v1/customers/{body['id']}").json == body


def test_unknown_id_is_404_in_the_error_shape(client):
    for response in (client.get("/api/v1/customers/999"),
                     client.patch("/api/v1/customers/999", json={"city": "X"}),
                     client.delete("/api/v1/customers/999"),
                     client.get("/api/v1/customers/999/profile"),
                     client.get("/api/v1/customers/999/interactions")):
        assert response.status_code == 404
        assert response.json["message"] == "Customer 999 does not exist."


def test_delete_only_without_timeline(client):
    keep = create(client, first_name="Has", last_name="History")
    client.post(f"/api/v1/customers/{keep['id']}/interactions",
                json={"type": "call", "summary": "hello"})
    assert client.delete(f"/api/v1/customers/{keep['id']}").status_code == 409
    gone = create(client, first_name="No", last_name="History", tags=["x"])
    assert client.delete(f"/api/v1/customers/{gone['id']}").status_code == 204
    assert client.get(f"/api/v1/customers/{gone['id']}").status_code == 404
    assert client.get(f"/api/v1/customers/{keep['id']}").status_code == 200


@pytest.fixture
def many(client):
    names = ["Zed Young", "Amy Adams", "Bea Brown", "Cal Clark", "Dee Davis", "Eve Evans"]
    created = []
    for i, name in enumerate(names):
        first, last = name.split()
        created.append(create(client, first_name=first, last_name=last,
                              email=f"{first.lower()}@example.com",
                              status="active" if i % 2 else "prospect",
                              source_channel="web" if i < 3 else "referral",
                              tags=["vip"] if i in (1, 4) else []))
    return created


def test_list_is_sorted_by_name_and_paged_by_cursor(client, many):
    seen, cursor = [], None
    for _ in range(10):  # bounded
        url = "/api/v1/customers?limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json
        seen.extend(c["name"] for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(c["name"] for c in many)


def test_list_descending_and_other_sorts(client, many):
    names = [c["name"] for c in client.get("/api/v1/customers?sort=-name").json["items"]]
    assert names == sorted(names, reverse=True)
    ids = [c["id"] for c in client.get("/api/v1/customers?sort=-created_at&limit=2").json["items"]]
    assert ids == [many[-1]["id"], many[-2]["id"]]
    bad = client.get("/api/v1/customers?sort=password")
    assert bad.status_code == 422
    assert "Cannot sort by 'password'" in bad.json["errors"]["query"]["sort"][0]


@pytest.mark.parametrize("query, expected", [
    ("status=active", {"Amy Adams", "Cal Clark", "Eve Evans"}),
    ("status=active,prospect&source_channel=referral", {"Cal Clark", "Dee Davis", "Eve Evans"}),
    ("tag=VIP", {"Amy Adams", "Dee Davis"}),
    ("q=bea", {"Bea Brown"}),
    ("q=eve%40example", {"Eve Evans"}),
])
def test_list_filters(client, many, query, expected):
    page = client.get(f"/api/v1/customers?{query}").json
    assert {c["name"] for c in page["items"]} == expected


def test_list_by_created_range(client, many):
    after = many[2]["created_at"]
    page = client.get("/api/v1/customers", query_string={"created_after": after}).json
    assert {c["id"] for c in page["items"]} == {c["id"] for c in many[2:]}


def test_page_size_has_a_hard_maximum_and_bad_cursor_is_422(client):
    response = client.get("/api/v1/customers?limit=201")
    assert response.status_code == 422
    assert response.json["errors"]["query"]["limit"] == ["Must be between 1 and 200."]
    response = client.get("/api/v1/customers?cursor=garbage")
    assert response.status_code == 422
    assert "cursor" in response.json["errors"]["query"]
    response = client.get("/api/v1/customers?colour=blue")
    assert response.status_code == 422
    assert response.json["errors"]["query"] == {"colour": ["Unknown filter."]}


def test_default_phone_region_accepts_national_numbers(make_app):
    client = make_app(DEFAULT_PHONE_REGION="GB").test_client()
    body = client.post("/api/v1/customers", json={"first_name": "A",
                                                   "phone": "020 7946 0958"}).json
    assert body["phone"] == "+442079460958"


def test_one_customer_reads_exactly_as_the_list_shows_it(client):
    # GET one runs its own single-record queries (composed once); the list batches them.
    for name, kind in (("industry", "choice"), ("employees", "number"), ("credit", "decimal"),
                       ("renewal", "date"), ("gdpr_ok", "boolean"), ("interests", "multi_choice"),
                       ("code", "text")):
        extra = {"choices": ["retail", "energy", "solar", "heat"]} if "choice" in kind else {}
        assert client.post("/api/v1/custom-fields", json={"name": name, "type": kind,
                                                          **extra}).status_code == 201
    body = create(client, first_name="Ada", last_name="Byron", email="ada@example.com",
                  other_emails=["b@example.com", "a@example.com"], phone="+44 20 7946 0958",
                  other_phones=["+44 20 7946 0959"], tags=["zeta", "Alpha", "beta"],
                  owner_id=None, notes="n", custom={
                      "industry": "energy", "employees": 250, "credit": "1000.50",
                      "renewal": "2027-01-31", "gdpr_ok": False, "interests": ["solar", "heat"],
                      "code": "A1"})
    create(client, first_name="Other")
    one = client.get(f"/api/v1/customers/{body['id']}")
    listed = [c for c in client.get("/api/v1/customers").json["items"] if c["id"] == body["id"]]
    assert one.json == listed[0] == body
    assert list(one.json) == list(listed[0])  # same keys in the same order
    assert one.json["other_emails"] == ["b@example.com", "a@example.com"]
    assert one.json["tags"] == ["Alpha", "beta", "zeta"]
    assert one.json["custom"]["interests"] == ["heat", "solar"]
    assert one.json["custom"]["gdpr_ok"] is False and one.json["custom"]["employees"] == 250
    bare = create(client, first_name="Bare")
    assert client.get(f"/api/v1/customers/{bare['id']}").json == bare
    assert (bare["email"], bare["other_phones"], bare["tags"], bare["custom"]) == (None, [], [],
                                                                                  {})


def test_the_openapi_document_still_describes_one_customer(client):
    spec = client.get("/openapi.json").json
    answer = spec["paths"]["/api/v1/customers/{customer_id}"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"id", "email", "other_emails", "tags", "custom", "created_at"} <= set(
        spec["components"]["schemas"][ref]["properties"])
