"""Duplicate candidates: a shared mailbox or phone number, similar names within a company."""
import pytest

from crmkit import db
from crmkit.customers.duplicates import canonical_email, fold_name, similar_names


@pytest.fixture
def crmkit_config(crmkit_database_url):
    # Numbers typed without a country code are British, so "020 ..." is a valid number.
    return {"DATABASE_URL": crmkit_database_url, "DEFAULT_PHONE_REGION": "GB"}


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json["id"]


def duplicates(client, query=""):
    response = client.get(f"/api/v1/customers/duplicates{query}")
    assert response.status_code == 200, response.json
    return response.json


def groups(client, query=""):
    return [(c["rule"], c["match"], c["customer_ids"])
            for c in duplicates(client, query)["items"]]


def test_nothing_to_report_in_a_clean_database(client):
    create(client, first_name="Ada", email="ada@example.com", phone="+44 20 7946 0001")
    create(client, first_name="Bob", email="bob@example.com", phone="+44 20 7946 0002")
    assert duplicates(client) == {"items": [], "next_cursor": None, "limit": 50}


def test_same_mailbox_whatever_the_case_and_sub_address(client):
    anna = create(client, first_name="Anna", email="Anna.Smith@Example.com")
    again = create(client, first_name="A.", last_name="Smith",
                   email="anna.smith+newsletter@EXAMPLE.COM")
    create(client, first_name="Anna", email="anna.smith@example.org")  # another domain
    create(client, first_name="Anne", email="anne.smith@example.com")  # another mailbox
    assert groups(client) == [("email", "anna.smith@example.com", [anna, again])]


def test_gmail_ignores_dots_and_has_two_domains(client):
    one = create(client, first_name="Jo", email="jo.king@gmail.com")
    two = create(client, first_name="Jo", email="JoKing+shop@googlemail.com")
    assert groups(client, "?rule=email") == [("email", "joking@gmail.com", [one, two])]


def test_the_sql_mailbox_rule_matches_the_python_one(client, app):
    addresses = ["Anna.Smith@Example.com", "a.b.c+x+y@gmail.com", "+lead@example.com",
                 "x@googlemail.com", "first.last@sub.example.co.uk", "plain@example.net"]
    for i, address in enumerate(addresses):
        create(client, first_name=f"P{i}", email=address)
    from crmkit.customers.duplicates import _canonical_email_sql
    from crmkit.customers.models import CustomerEmail

    with app.app_context(), db.connection():
        in_sql = dict(CustomerEmail.select(CustomerEmail.email,
                                           _canonical_email_sql(CustomerEmail.email_key))
                      .tuples())
    assert in_sql == {a: canonical_email(a) for a in addresses}
    assert in_sql["a.b.c+x+y@gmail.com"] == "abc@gmail.com"
    assert in_sql["+lead@example.com"] == "+lead@example.com"  # no mailbox before the tag


def test_same_phone_typed_in_different_formats(client):
    one = create(client, first_name="Ann", phone="+44 20 7946 0958")
    two = create(client, first_name="Bea", phone="020 7946 0958")
    three = create(client, first_name="Cat", phone="07911 123456",
                   other_phones=["(020) 7946-0958"])
    create(client, first_name="Dan", phone="+44 20 7946 0959")
    assert groups(client, "?rule=phone") == [("phone", "+442079460958", [one, two, three])]


def test_similar_names_within_one_company(client):
    acme = create(client, kind="company", name="Acme Heating")
    other = create(client, kind="company", name="Other Ltd")
    jose = create(client, first_name="José", last_name="Núñez", company_id=acme)
    jose_plain = create(client, first_name="jose", last_name="NUNEZ", company_id=acme)
    jose_reversed = create(client, name="Núñez, José", company_id=acme)
    jon = create(client, first_name="Jon", last_name="Smithson", company_id=acme)
    john = create(client, first_name="John", last_name="Smithson", company_id=acme)
    create(client, first_name="Mia", last_name="Wong", company_id=acme)
    create(client, first_name="José", last_name="Núñez", company_id=other)  # other company
    create(client, first_name="Jose", last_name="Nunez")  # no company
    create(client, first_name="Jose", last_name="Nunez")
    assert groups(client, "?rule=name") == [
        ("name", "José Núñez", [jose, jose_plain, jose_reversed]),
        ("name", "Jon Smithson", [jon, john]),
    ]
    item = duplicates(client, "?rule=name")["items"][0]
    assert item["company_id"] == acme
    assert [c["name"] for c in item["customers"]] == ["José Núñez", "jose NUNEZ", "Núñez, José"]


def test_name_keys_and_similarity():
    assert fold_name("Müller-Lüdenscheidt, Hans") == fold_name("hans MULLER ludenscheidt")
    assert fold_name("Straße") == fold_name("STRASSE")
    assert similar_names(fold_name("Jon Smithson"), fold_name("John Smithson"))
    assert not similar_names(fold_name("Tom Li"), fold_name("Tim Li"))  # too short to guess
    assert not similar_names(fold_name("Anna Smith"), fold_name("Hannah Smithers"))


def test_a_candidate_lists_its_customers_and_suggests_the_longest_timeline(client):
    old = create(client, first_name="Old", phone="+44 20 7946 0958", status="prospect")
    busy = create(client, first_name="Busy", other_phones=["+44 20 7946 0958"])
    for kind in ("call", "email"):
        client.post(f"/api/v1/customers/{busy}/interactions", json={"type": kind})
    item = duplicates(client)["items"][0]
    assert item["suggested_survivor_id"] == busy
    assert [(c["id"], c["interactions"], c["phone"]) for c in item["customers"]] == [
        (old, 0, "+442079460958"), (busy, 2, "+442079460958")]
    assert item["customers"][0]["status"] == "prospect"


def test_rules_are_listed_in_order_and_can_be_chosen(client):
    acme = create(client, kind="company", name="Acme")
    a = create(client, first_name="Kim", last_name="Ray", email="kim@example.com",
               phone="+44 20 7946 0958", company_id=acme)
    b = create(client, first_name="kim", last_name="ray", email="KIM+x@example.com",
               phone="+442079460958", company_id=acme)
    assert groups(client) == [("email", "kim@example.com", [a, b]),
                              ("phone", "+442079460958", [a, b]),
                              ("name", "Kim Ray", [a, b])]
    assert [g[0] for g in groups(client, "?rule=name,email")] == ["email", "name"]


def test_merged_customers_are_no_longer_candidates(client):
    a = create(client, first_name="Ann", phone="+44 20 7946 0958")
    b = create(client, first_name="Ann", phone="020 7946 0958")
    c = create(client, first_name="Ann", phone="+44 20 7946 0958")
    assert groups(client) == [("phone", "+442079460958", [a, b, c])]
    assert client.post(f"/api/v1/customers/{a}/merge", json={"duplicate_id": b}).status_code == 200
    assert groups(client) == [("phone", "+442079460958", [a, c])]
    assert client.post(f"/api/v1/customers/{a}/merge", json={"duplicate_id": c}).status_code == 200
    assert groups(client) == []


def test_candidates_of_one_customer(client, app):
    acme = create(client, kind="company", name="Acme")
    ann = create(client, first_name="Ann", last_name="Lee", phone="+44 20 7946 0958",
                 email="ann@example.com", company_id=acme)
    same_phone = create(client, first_name="Bo", phone="020 7946 0958")
    same_name = create(client, first_name="Ann", last_name="Lee", company_id=acme)
    create(client, first_name="Cy", phone="+44 20 7946 0001")
    create(client, first_name="Cy", phone="+44 20 7946 0001")
    assert groups(client, f"?customer_id={ann}") == [
        ("phone", "+442079460958", [ann, same_phone]),
        ("name", "Ann Lee", [ann, same_name])]
    assert groups(client, f"?customer_id={same_phone}&rule=name") == []
    from crmkit.customers.duplicates import duplicates_of
    with app.app_context(), db.connection():
        assert [(c.rule, c.customer_ids) for c in duplicates_of(same_name)] == [
            ("name", [ann, same_name])]


def test_pages_cover_every_candidate_once(client):
    acme = create(client, kind="company", name="Acme")
    expected = []
    for i in range(5):
        expected.append([create(client, first_name=f"P{i}", phone=f"+44 20 7946 {i:04d}")
                         for _ in range(2)])
    for first in ("Alex", "Bea", "Chris", "Dana"):
        expected.append([create(client, first_name=first, last_name="Jones", company_id=acme)
                         for _ in range(2)])
    seen, cursor, pages = [], None, 0
    while pages < 10:
        page = duplicates(client, "?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        seen += [(c["rule"], c["match"], c["customer_ids"]) for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert [s[0] for s in seen] == ["phone"] * 5 + ["name"] * 4
    assert [s[2] for s in seen] == expected


@pytest.mark.parametrize("query, field", [
    ("?rule=address", "rule"),
    ("?cursor=not-a-cursor", "cursor"),
    ("?limit=0", "limit"),
    ("?limit=100000", "limit"),
    ("?customer_id=abc", "customer_id"),
    ("?colour=red", "colour"),
])
def test_bad_queries_are_422(client, query, field):
    response = client.get(f"/api/v1/customers/duplicates{query}")
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["query"]


def test_a_cursor_of_another_list_is_refused(client):
    for i in range(3):
        create(client, first_name=f"C{i}")
    cursor = client.get("/api/v1/customers?limit=1").json["next_cursor"]
    response = client.get(f"/api/v1/customers/duplicates?cursor={cursor}")
    assert response.status_code == 422


def test_candidates_only_among_records_the_caller_may_see(client, make_client, make_user):
    agent = make_user("agent")
    mine = create(client, first_name="Mine", phone="+44 20 7946 0958", owner_id=agent.id)
    also_mine = create(client, first_name="Also", phone="020 7946 0958", owner_id=agent.id)
    create(client, first_name="Not mine", phone="+44 20 7946 0958")
    agent_client = make_client(user=agent)
    assert [c["customer_ids"] for c in duplicates(agent_client)["items"]] == [[mine, also_mine]]
    read_only = make_client("read-only")
    assert len(duplicates(read_only)["items"][0]["customer_ids"]) == 3


def test_asking_about_a_customer_one_cannot_see_tells_nothing(client, make_client, make_user):
    """An agent asking for the duplicates of a customer it cannot see gets what an unknown id
    gets, not the group of its own customers sharing that customer's phone or email."""
    agent = make_user("agent")
    for number, name in enumerate(("Mine", "Also mine")):  # one mailbox, sub-addressed
        create(client, first_name=name, phone="+44 20 7946 0958",
               email=f"shared+{number}@example.com", owner_id=agent.id)
    hidden = create(client, first_name="Hidden", phone="+44 20 7946 0958",
                    email="shared+hidden@example.com")
    as_agent = make_client(user=agent)
    assert as_agent.get(f"/api/v1/customers/{hidden}").status_code == 404
    for rule in ("phone", "email"):
        about_hidden = as_agent.get(f"/api/v1/customers/duplicates?rule={rule}"
                                    f"&customer_id={hidden}")
        assert about_hidden.status_code == 200 and about_hidden.json["items"] == []
    mine = as_agent.get("/api/v1/customers/duplicates?rule=phone").json["items"]
    assert len(mine) == 1 and hidden not in mine[0]["customer_ids"]
