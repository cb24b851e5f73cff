"""Pairs marked "not duplicates": stored once whatever the order, left out of the candidates,
audited, permission-checked, removed when a customer is merged away or erased; API and CLI."""
import pytest

from crmkit import db
from crmkit.audit.models import AuditEvent
from crmkit.customers.models import NotDuplicate

URL = "/api/v1/customers/duplicates/not-duplicates"


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json["id"]


def groups(client, query=""):
    response = client.get(f"/api/v1/customers/duplicates{query}")
    assert response.status_code == 200, response.json
    return [(c["rule"], c["customer_ids"]) for c in response.json["items"]]


def mark(client, a, b):
    return client.post(URL, json={"customer_ids": [a, b]})


def stored(app):
    with app.app_context(), db.connection():
        return sorted(NotDuplicate.select(NotDuplicate.customer_low, NotDuplicate.customer_high)
                      .tuples())


@pytest.fixture
def twins(client):
    """Two customers sharing a phone number: one candidate."""
    one = create(client, first_name="Ann", phone="+44 20 7946 0958")
    two = create(client, first_name="Anna", phone="+44 20 7946 0958")
    return one, two


def test_a_marked_pair_is_no_longer_a_candidate_and_unmarking_brings_it_back(client, app,
                                                                          twins):
    one, two = twins
    assert groups(client) == [("phone", [one, two])]
    response = mark(client, two, one)
    assert response.status_code == 201, response.json
    assert response.json["customer_ids"] == [one, two]
    assert response.json["created_by"] is not None
    assert groups(client) == []
    assert groups(client, f"?customer_id={one}") == []
    # The same pair in either order is one mark.
    again = mark(client, one, two)
    assert again.status_code == 200 and again.json["customer_ids"] == [one, two]
    assert stored(app) == [(one, two)]
    listed = client.get(URL).json
    assert [i["customer_ids"] for i in listed["items"]] == [[one, two]]
    assert client.get(f"{URL}?customer_id={two}").json["items"][0]["customer_ids"] == [one, two]
    assert client.get(f"{URL}?customer_id=999").json["items"] == []

    assert client.delete(f"{URL}/{two}/{one}").status_code == 204
    assert stored(app) == []
    assert groups(client) == [("phone", [one, two])]
    assert client.delete(f"{URL}/{one}/{two}").status_code == 404


def test_a_group_keeps_the_customers_with_an_unmarked_partner(client):
    a = create(client, first_name="A", phone="+44 20 7946 0001")
    b = create(client, first_name="B", phone="+44 20 7946 0001")
    c = create(client, first_name="C", phone="+44 20 7946 0001")
    mark(client, a, b)
    # c may still be either's duplicate.
    assert groups(client) == [("phone", [a, b, c])]
    mark(client, a, c)
    # Nobody left in the group is a's duplicate.
    assert groups(client) == [("phone", [b, c])]
    assert groups(client, f"?customer_id={a}") == []
    response = client.get("/api/v1/customers/duplicates").json["items"][0]
    assert [x["id"] for x in response["customers"]] == [b, c]
    assert response["suggested_survivor_id"] in (b, c)
    mark(client, b, c)
    assert groups(client) == []


def test_pages_stay_full_and_exact_when_marks_thin_them_out(client):
    pairs = [[create(client, first_name=f"P{i}", phone=f"+44 20 7946 {i:04d}")
              for _ in range(2)] for i in range(9)]
    for a, b in pairs[1:7]:
        assert mark(client, a, b).status_code == 201
    seen, cursor = [], None
    for _ in range(10):
        page = client.get("/api/v1/customers/duplicates?limit=2"
                          + (f"&cursor={cursor}" if cursor else "")).json
        assert len(page["items"]) == 2 or page["next_cursor"] is None
        seen += [c["customer_ids"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [pairs[0], pairs[7], pairs[8]]


@pytest.mark.parametrize("body, status, field", [
    ({"customer_ids": [1, 1]}, 422, "customer_ids"),
    ({"customer_ids": [1]}, 422, "customer_ids"),
    ({"customer_ids": [1, 2, 3]}, 422, "customer_ids"),
    ({"customer_ids": ["1", 2]}, 422, "customer_ids"),
    ({"customer_ids": [0, 2]}, 422, "customer_ids"),
    ({}, 422, "customer_ids"),
    ({"customer_ids": [1, 999]}, 404, None),
])
def test_bad_marks_are_refused_and_store_nothing(client, app, twins, body, status, field):
    response = client.post(URL, json=body)
    assert response.status_code == status, response.json
    if field:
        assert field in response.json["errors"]["json"]
    assert stored(app) == []


def test_unknown_ids_and_one_customer_twice_on_delete(client, twins):
    one, _ = twins
    assert client.delete(f"{URL}/{one}/999").status_code == 404
    response = client.delete(f"{URL}/{one}/{one}")
    assert response.status_code == 422 and "customer_ids" in response.json["errors"]["json"]


def test_marks_are_audited_on_both_customers(client, app, twins):
    one, two = twins
    mark(client, one, two)
    client.delete(f"{URL}/{one}/{two}")
    with app.app_context(), db.connection():
        records = [(e.action, e.object_id, e.changes) for e in
                   AuditEvent.select().where(AuditEvent.action.startswith("customer.not_dup"))
                   .order_by(AuditEvent.id)]
    assert records == [
        ("customer.not_duplicate", str(one), {"not_duplicate_of": [None, two]}),
        ("customer.not_duplicate", str(two), {"not_duplicate_of": [None, one]}),
        ("customer.not_duplicate_removed", str(one), {"not_duplicate_of": [two, None]}),
        ("customer.not_duplicate_removed", str(two), {"not_duplicate_of": [one, None]}),
    ]


def test_marking_needs_the_merge_permission_and_listing_the_read_permission(app, make_client,
                                                                            twins):
    one, two = twins
    read_only = make_client("read-only")
    response = mark(read_only, one, two)
    assert response.status_code == 403
    assert response.json["errors"]["permission"] == "customers:merge"
    assert read_only.delete(f"{URL}/{one}/{two}").status_code == 403
    assert read_only.get(URL).status_code == 200
    anonymous = app.test_client(token=None)
    assert anonymous.get(URL).status_code == 401
    assert mark(anonymous, one, two).status_code == 401
    assert stored(app) == []


def test_customers_the_caller_may_not_see_answer_404(client, make_client, make_user):
    agent = make_user("manager", teams=["north"], manager_of=["north"])
    mine = create(client, first_name="Mine", phone="+44 20 7946 0958", owner_id=agent.id)
    theirs = create(client, first_name="Theirs", phone="+44 20 7946 0958")
    other = create(client, first_name="Other", phone="+44 20 7946 0958", owner_id=agent.id)
    manager = make_client(user=agent)
    assert mark(manager, mine, theirs).status_code == 404
    assert mark(client, mine, theirs).status_code == 201
    assert mark(manager, mine, other).status_code == 201
    # Only pairs of two visible customers are listed.
    assert [i["customer_ids"] for i in manager.get(URL).json["items"]] == [[mine, other]]


def test_merging_removes_the_marks_of_the_customer_merged_away(client, app):
    a = create(client, first_name="A", phone="+44 20 7946 0001")
    b = create(client, first_name="B", phone="+44 20 7946 0001")
    c = create(client, first_name="C", email="c@example.com")
    d = create(client, first_name="D", email="d@example.com")
    mark(client, a, b)
    mark(client, c, a)
    mark(client, c, d)
    response = client.post(f"/api/v1/customers/{c}/merge", json={"duplicate_id": a})
    assert response.status_code == 200, response.json
    assert stored(app) == [(c, d)]
    with app.app_context(), db.connection():
        merge = AuditEvent.get(AuditEvent.action == "customer.merge")
    assert merge.detail["not_duplicate_marks_removed"] == 2
    # A merged-away customer cannot be marked any more: its id answers 404.
    response = mark(client, a, d)
    assert response.status_code == 404 and response.json["merged_into"] == c


def test_erasing_removes_the_marks(client, app, twins):
    one, two = twins
    three = create(client, first_name="Three")
    mark(client, one, two)
    mark(client, two, three)
    mark(client, one, three)
    assert client.post(f"/api/v1/customers/{two}/erase").status_code == 200
    assert stored(app) == [(one, three)]
    with app.app_context(), db.connection():
        erasure = AuditEvent.get(AuditEvent.action == "erase")
    assert erasure.detail["not_duplicate_marks_removed"] == 2


def test_deleting_a_customer_removes_its_marks(client, app, twins):
    one, two = twins
    mark(client, one, two)
    assert client.delete(f"/api/v1/customers/{two}").status_code == 204
    assert stored(app) == []


def test_cli_add_list_remove(runner, client, app, twins):
    one, two = twins
    result = runner.invoke(["customers", "not-duplicates", "add", str(two), str(one)])
    assert result.exit_code == 0, result.output
    assert f"marked customers {one} and {two} as not duplicates" in result.output
    result = runner.invoke(["customers", "not-duplicates", "add", str(one), str(two)])
    assert "marked as not duplicates already" in result.output
    assert groups(client) == []
    duplicates = runner.invoke(["customers", "duplicates"])
    assert str(one) not in duplicates.output
    listed = runner.invoke(["customers", "not-duplicates", "list"])
    assert listed.exit_code == 0 and f"{one}" in listed.output and f"{two}" in listed.output
    as_json = runner.invoke(["customers", "not-duplicates", "list", "--json"])
    assert f'"customer_ids": [\n        {one},\n        {two}\n      ]' in as_json.output
    with app.app_context(), db.connection():
        audit = AuditEvent.get(AuditEvent.action == "customer.not_duplicate")
    assert audit.actor.startswith("cli")
    result = runner.invoke(["customers", "not-duplicates", "remove", str(one), str(two)])
    assert result.exit_code == 0 and "may be listed as duplicates again" in result.output
    assert groups(client) == [("phone", [one, two])]
    for args, message in (([str(one), str(one)], "customer_ids"),
                          ([str(one), "999"], "Customer 999 does not exist")):
        bad = runner.invoke(["customers", "not-duplicates", "add", *args])
        assert bad.exit_code == 1 and message in bad.output
    missing = runner.invoke(["customers", "not-duplicates", "remove", str(one), str(two)])
    assert missing.exit_code == 1 and "not marked" in missing.output


def test_migration_0006_upgrades_a_database_at_0005(make_app):
    from playhouse.migrations import Runner

    from crmkit.db import database
    from crmkit.imports.models import ImportJob
    from crmkit.schema import KERNEL_MIGRATIONS, drift, upgrade
    app = make_app(upgrade=False)
    pm = app.extensions["crmkit"].pm
    with db.connection():
        Runner(database.obj, KERNEL_MIGRATIONS, table_name="migrations_crmkit").up(
            "0005_imports")
        database.execute_sql("INSERT INTO import_job (kind, state, filename, path, uploaded, "
                             "encoding, delimiter, mapping, on_duplicate, dry_run, file_bytes, "
                             "rows_done, rows_created, rows_updated, rows_unchanged, "
                             "rows_skipped, rows_failed, created_at) VALUES ('customers', "
                             "'done', 'old.csv', '/tmp/old.csv', false, 'utf-8', ',', '{}', "
                             "'error', false, 0, 0, 0, 0, 0, 0, 0, '2026-01-01 00:00:00')")
    [result] = upgrade(pm, only="crmkit")
    assert result.applied[0] == "0006_not_duplicates_and_import_format"
    with app.app_context(), db.connection():
        assert ImportJob.get().format == "csv"
        assert NotDuplicate.select().count() == 0
    assert drift(pm) == {}


def test_a_name_group_names_a_customer_still_in_it(client):
    acme = create(client, kind="company", name="Acme")
    jon = create(client, first_name="Jon", last_name="Smithson", company_id=acme)
    john = create(client, first_name="John", last_name="Smithson", company_id=acme)
    johnny = create(client, first_name="John", last_name="Smithsen", company_id=acme)
    mark(client, jon, john)
    mark(client, jon, johnny)
    [candidate] = client.get("/api/v1/customers/duplicates?rule=name").json["items"]
    assert candidate["customer_ids"] == [john, johnny]
    assert candidate["match"] == "John Smithson"
