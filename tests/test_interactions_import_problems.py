"""``crmkit interactions import``: a bad row's report lists every problem it has in one run, one
per column (its cells, the timeline's rules, its customer), while the good rows of the file go in."""
import csv
import json

import pytest

from crmkit.customers.timeline import BUILTIN_TYPES
from tests.test_customers_import import read_report, run

UNKNOWN_TYPE = f"Unknown interaction type; one of: {', '.join(BUILTIN_TYPES)}."
BAD_TIME = "Not an ISO 8601 date or time (e.g. 2024-05-01T14:30:00Z)."
DIRECTION = "One of: inbound, outbound, internal."
HEADER = ["customer_id", "customer_email", "customer_phone", "type", "direction", "occurred_at",
          "amount", "currency", "lines", "payload", "external_id", "summary"]


@pytest.fixture(autouse=True)
def schema(app):
    return app


@pytest.fixture(params=["in-process", "worker"])
def crmkit_config(request, crmkit_database_url):
    """Rows read and checked in the importing process (small files) and in a worker process
    (large files): both must report the same."""
    return {"DATABASE_URL": crmkit_database_url,
            "IMPORT_WORKER_MIN_ROWS": 1 if request.param == "worker" else 10**9}


def write_csv(tmp_path, rows, name="timeline.csv"):
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER] + [_row(**cells) for cells in rows])
    return str(path)


def _row(**cells):
    assert set(cells) <= set(HEADER)
    return [cells.get(name, "") for name in HEADER]


def timeline(client, customer):
    return client.get(f"/api/v1/customers/{customer['id']}/interactions").json["items"]


@pytest.fixture
def ada(client):
    return client.post("/api/v1/customers", json={
        "first_name": "Ada", "email": "ada@example.com", "phone": "+44 20 7946 0958"}).json


def test_a_bad_row_reports_its_cell_rule_and_customer_problems_at_once(runner, client, tmp_path,
                                                                       ada):
    ada_id = str(ada["id"])
    path = write_csv(tmp_path, [
        # 2: good
        dict(customer_id=ada_id, type="purchase", amount="19.99", currency="EUR",
             occurred_at="2024-05-01T10:00:00Z", external_id="order-1", summary="Boiler"),
        # 3: a bad date and an unknown type
        dict(customer_id=ada_id, type="teleport", occurred_at="yesterday", external_id="x-3"),
        # 4: no such customer, a bad date and a bad direction
        dict(customer_id="999", type="call", direction="sideways", occurred_at="2024-13-01"),
        # 5: a customer id that is no number (so no lookup), an unknown type and bad JSON
        dict(customer_id="abc", type="teleport", payload="{"),
        # 6: good, found by email
        dict(customer_email="ADA@example.com", type="call", direction="outbound",
             occurred_at="2024-05-02", summary="Called back"),
        # 7: a purchase with a bad currency code, no amount and bad line items: the code's own
        # problem stands for its column ("A purchase needs a currency." would hide it)
        dict(customer_id=ada_id, type="purchase", currency="EURO", lines="[{"),
        # 8: no customer given, and an unknown type
        dict(type="teleport", summary="Nobody"),
        # 9: cells all sound, but no customer has the email and the amount lacks a currency
        dict(customer_email="nobody@example.com", type="call", amount="5"),
        # 10: no customer has the phone, a bad date and a payload that is no object
        dict(customer_phone="+44 20 7946 0999", type="note", occurred_at="soon",
             payload="[1]"),
        # 11: nothing but a customer id that is no number: reported, not taken for blank
        dict(customer_id="x"),
        # 12: good, found by phone
        dict(customer_phone="+442079460958", type="note", summary="Met at fair"),
    ])
    output = run(runner, "interactions", "import", path)
    assert "3 created, 0 updated, 0 unchanged, 0 skipped, 8 failed" in output
    assert read_report(str(tmp_path / "timeline.errors.csv")) == [
        ["row", "column", "message"],
        ["3", "type", UNKNOWN_TYPE],
        ["3", "occurred_at", BAD_TIME],
        ["4", "customer_id", "Customer 999 does not exist."],
        ["4", "direction", DIRECTION],
        ["4", "occurred_at", BAD_TIME],
        ["5", "customer_id", "Not a whole number below 2^31."],
        ["5", "type", UNKNOWN_TYPE],
        ["5", "payload", "Not valid JSON."],
        ["7", "amount", "A purchase needs an amount."],
        ["7", "currency", "An ISO 4217 code."],
        ["7", "lines", "Not valid JSON."],
        ["8", "customer_id", "Give the customer's id, email or phone."],
        ["8", "type", UNKNOWN_TYPE],
        ["9", "customer_email", "No customer has this email."],
        ["9", "currency", "An amount needs a currency."],
        ["10", "customer_phone", "No customer has this phone."],
        ["10", "occurred_at", BAD_TIME],
        ["10", "payload", "Must be a JSON object."],
        ["11", "customer_id", "Not a whole number below 2^31."],
        ["11", "type", UNKNOWN_TYPE],
    ]
    assert sorted((i["type"], i["summary"]) for i in timeline(client, ada)) == [
        ("call", "Called back"), ("note", "Met at fair"), ("purchase", "Boiler")]
    assert client.get(f"/api/v1/customers/{ada['id']}").json["status"] == "active"


def test_line_item_problems_come_with_the_other_columns_problems(runner, client, tmp_path, ada):
    path = write_csv(tmp_path, [
        dict(customer_id=str(ada["id"]), type="purchase", amount="-1", currency="EUR",
             occurred_at="later", lines='[{"sku": "A1", "quantity": "x"}]'),
        dict(customer_id=str(ada["id"]), type="purchase", amount="3", currency="EUR",
             lines='[{"sku": "A1", "quantity": 3, "unit_price": 1}]', external_id="o-2"),
    ])
    output = run(runner, "interactions", "import", path)
    assert "1 created" in output and "1 failed" in output
    assert read_report(str(tmp_path / "timeline.errors.csv"))[1:] == [
        ["2", "occurred_at", BAD_TIME],
        ["2", "amount", "Must be a non-negative amount below 10^14."],
        ["2", "lines", "lines.0.quantity: Not a valid amount."],
    ]
    [purchase] = timeline(client, ada)
    assert purchase["external_id"] == "o-2" and purchase["lines"][0]["total"] == "3.00"


def test_a_dry_run_reports_the_same_problems_and_stores_nothing(runner, client, tmp_path, ada):
    path = write_csv(tmp_path, [
        dict(customer_id="999", type="teleport", occurred_at="never"),
        dict(customer_id=str(ada["id"]), type="call", external_id="c-1"),
    ])
    output = run(runner, "interactions", "import", path, "--dry-run")
    assert "1 created" in output and "1 failed" in output
    assert read_report(str(tmp_path / "timeline.errors.csv"))[1:] == [
        ["2", "customer_id", "Customer 999 does not exist."],
        ["2", "type", UNKNOWN_TYPE],
        ["2", "occurred_at", BAD_TIME],
    ]
    assert timeline(client, ada) == []


def test_a_file_of_bad_rows_only_exits_non_zero_with_every_problem(runner, client, tmp_path):
    path = write_csv(tmp_path, [dict(customer_id="12x", type="purchase", amount="ten")])
    run(runner, "interactions", "import", path, exit_code=1)
    assert read_report(str(tmp_path / "timeline.errors.csv"))[1:] == [
        ["2", "customer_id", "Not a whole number below 2^31."],
        ["2", "amount", "Not a valid amount."],
        ["2", "currency", "A purchase needs a currency."],
    ]


def test_a_row_listing_more_line_items_than_the_api_takes_is_refused(runner, client, ada,
                                                                     tmp_path):
    item = {"sku": "A", "quantity": "1", "unit_price": "1.00"}
    path = write_csv(tmp_path, [
        dict(customer_id=str(ada["id"]), type="purchase", amount="501.00", currency="EUR",
             lines=json.dumps([item] * 501)),
        dict(customer_id=str(ada["id"]), type="purchase", amount="500.00", currency="EUR",
             lines=json.dumps([item] * 500))])
    report = tmp_path / "report.csv"
    run(runner, "interactions", "import", path, "--report", str(report))
    assert read_report(report)[1:] == [["2", "lines", "Longer than maximum length 500."]]
    stored = timeline(client, ada)
    assert [(i["amount"], len(i["lines"])) for i in stored] == [("500.0000", 500)]
    # The API draws the line at the same place.
    answer = client.post(f"/api/v1/customers/{ada['id']}/interactions", json={
        "type": "purchase", "amount": "501.00", "currency": "EUR", "lines": [item] * 501})
    assert answer.status_code == 422
    assert answer.json["errors"]["json"]["lines"] == ["Longer than maximum length 500."]
