"""Interaction exports: CSV and JSON Lines with the timeline's filters, over HTTP and the CLI,
streamed in batches, exact amounts, and files that import back."""
import csv
import decimal
import io
import json

import pytest

from crmkit.customers import timeline_export


@pytest.fixture(autouse=True)
def schema(app):
    return app


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json


def record(client, customer, **data):
    response = client.post(f"/api/v1/customers/{customer['id']}/interactions", json=data)
    assert response.status_code == 201, response.json
    return response.json


def parse_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def parse_jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


def sample(client):
    ada = create(client, first_name="Ada", email="ada@example.com", phone="+44 20 7946 0958")
    bob = create(client, first_name="Bob", phone="+44 20 7946 0959")
    call = record(client, ada, type="call", channel="phone", direction="outbound",
                  occurred_at="2024-01-10T09:00:00Z", actor="Sam", summary="Intro, \"hi\"\nbye")
    sale = record(client, ada, type="purchase", channel="web", amount="1234.57", currency="EUR",
                  occurred_at="2024-02-01T12:00:00Z", external_id="order-1",
                  lines=[{"sku": "A1", "name": "Valve", "quantity": 3, "unit_price": "0.10"}],
                  payload={"order": {"number": 17, "note": "Zürich"}})
    note = record(client, bob, type="note", summary="Called back",
                  occurred_at="2024-03-01T08:00:00Z")
    return ada, bob, call, sale, note


def test_csv_export_has_every_column_exact_amounts_and_json_cells(client):
    ada, bob, call, sale, note = sample(client)
    response = client.get("/api/v1/interactions/export")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="interactions.csv"'
    rows = parse_csv(response.get_data(as_text=True))
    assert list(rows[0]) == list(timeline_export.COLUMNS)
    assert [r["id"] for r in rows] == [str(call["id"]), str(sale["id"]), str(note["id"])]
    first, second, third = rows
    assert (first["customer_id"], first["customer_email"], first["customer_phone"]) == (
        str(ada["id"]), "ada@example.com", "+442079460958")
    assert first["summary"] == "Intro, \"hi\"\nbye" and first["direction"] == "outbound"
    assert first["payload"] == "" and first["amount"] == "" and first["source"] == "api"
    assert decimal.Decimal(second["amount"]) == decimal.Decimal("1234.57")
    assert second["currency"] == "EUR" and second["external_id"] == "order-1"
    assert json.loads(second["payload"]) == {"order": {"number": 17, "note": "Zürich"}}
    assert json.loads(second["lines"]) == [{"sku": "A1", "name": "Valve", "quantity": "3",
                                            "unit_price": "0.10", "total": "0.30"}]
    assert second["occurred_at"].startswith("2024-02-01T12:00:00")
    assert (third["customer_email"], third["customer_phone"]) == ("", "+442079460959")


def test_jsonl_export_is_the_api_record_with_the_customers_contacts(client):
    ada, _, call, sale, _ = sample(client)
    response = client.get("/api/v1/interactions/export?format=jsonl&type=purchase")
    assert response.mimetype == "application/x-ndjson"
    [line] = parse_jsonl(response.get_data(as_text=True))
    timeline = client.get(f"/api/v1/customers/{ada['id']}/interactions").json["items"]
    api = next(i for i in timeline if i["id"] == sale["id"])
    assert line == {**api, "customer_email": "ada@example.com",
                    "customer_phone": "+442079460958"}
    assert isinstance(line["amount"], str)  # exact, never a float


@pytest.mark.parametrize("query, expected", [
    ("type=call,note", ["call", "note"]),
    ("channel=web", ["purchase"]),
    ("direction=internal", ["note"]),
    ("source=api", ["call", "purchase", "note"]),
    ("source=import", []),
    ("occurred_after=2024-02-01T12:00:00Z", ["purchase", "note"]),
    ("occurred_before=2024-02-01T12:00:00Z", ["call"]),
    ("occurred_after=2024-01-15&occurred_before=2024-02-15", ["purchase"]),
    ("customer_id={bob}", ["note"]),
    ("customer_id={ada}&type=purchase", ["purchase"]),
])
def test_filters_are_the_timeline_filters(client, query, expected):
    ada, bob, *_ = sample(client)
    response = client.get("/api/v1/interactions/export?format=jsonl&"
                          + query.format(ada=ada["id"], bob=bob["id"]))
    assert response.status_code == 200, response.json
    assert [r["type"] for r in parse_jsonl(response.get_data(as_text=True))] == expected


@pytest.mark.parametrize("query, status, field", [
    ("format=xml", 422, "format"),
    ("occurred_after=yesterday", 422, "occurred_after"),
    ("customer_id=abc", 422, "customer_id"),
    ("tpye=call", 422, "tpye"),
    ("limit=5", 422, "limit"),
    ("customer_id=999", 404, None),
])
def test_bad_filters_are_refused_before_anything_is_sent(client, query, status, field):
    sample(client)
    response = client.get(f"/api/v1/interactions/export?{query}")
    assert response.status_code == status, response.get_data(as_text=True)
    if field:
        assert field in response.json["errors"]["query"]


def test_a_merged_customer_answers_404_naming_the_survivor(client):
    ada, bob, *_ = sample(client)
    client.post(f"/api/v1/customers/{ada['id']}/merge", json={"duplicate_id": bob["id"]})
    response = client.get(f"/api/v1/interactions/export?customer_id={bob['id']}")
    assert response.status_code == 404 and response.json["merged_into"] == ada["id"]
    moved = parse_csv(client.get(f"/api/v1/interactions/export?customer_id={ada['id']}")
                      .get_data(as_text=True))
    assert len(moved) == 3


def test_export_streams_in_batches(client, monkeypatch):
    ada = create(client, first_name="Ada", email="ada@example.com")
    for n in range(7):
        record(client, ada, type="call", summary=f"call {n}")
    monkeypatch.setattr(timeline_export, "BATCH", 3)
    response = client.get("/api/v1/interactions/export")
    chunks = list(response.response)
    assert len(chunks) >= 4  # the header, then one chunk per batch
    rows = parse_csv(b"".join(chunks).decode())
    assert [r["summary"] for r in rows] == [f"call {n}" for n in range(7)]


def test_export_needs_the_export_permission(make_client, anon_client):
    assert make_client("agent").get("/api/v1/interactions/export").status_code == 403
    assert anon_client.get("/api/v1/interactions/export").status_code == 401


def test_an_export_shows_only_the_timelines_the_caller_may_see(client, make_user, make_client):
    manager = make_user("manager", teams=["north"], manager_of=["north"])
    own = create(client, first_name="Mine", owner_id=manager.id)
    other = create(client, first_name="Unowned")
    record(client, own, type="call", summary="mine")
    record(client, other, type="call", summary="theirs")
    exporter = make_client(user=manager)
    rows = parse_csv(exporter.get("/api/v1/interactions/export").get_data(as_text=True))
    assert [r["summary"] for r in rows] == ["mine"]
    assert exporter.get(f"/api/v1/interactions/export?customer_id={other['id']}"
                        ).status_code == 404


def test_cli_export_writes_a_file_with_the_filters(runner, client, tmp_path):
    ada, *_ = sample(client)
    path = tmp_path / "out.jsonl"
    result = runner.invoke(["interactions", "export", "--format", "jsonl", "--type", "purchase",
                            "--customer-id", str(ada["id"]), "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert [r["type"] for r in parse_jsonl(path.read_text())] == ["purchase"]
    result = runner.invoke(["interactions", "export", "--occurred-after", "2024-02-02"])
    assert result.exit_code == 0, result.output
    assert [r["type"] for r in parse_csv(result.output)] == ["note"]
    bad = runner.invoke(["interactions", "export", "--customer-id", "999"])
    assert bad.exit_code == 1 and "Customer 999 does not exist" in bad.output
    bad = runner.invoke(["interactions", "export", "--occurred-after", "soon"])
    assert bad.exit_code == 1 and "occurred_after" in bad.output


def test_reimporting_an_export_of_imported_interactions_records_nothing_twice(runner, client,
                                                                              tmp_path):
    create(client, first_name="Ada", email="ada@example.com")
    source = tmp_path / "orders.csv"
    source.write_text("customer_email,type,amount,currency,external_id\n"
                      "ada@example.com,purchase,10.5,EUR,o-1\n"
                      "ada@example.com,purchase,0.01,EUR,o-2\n")
    assert "2 created" in runner.invoke(["interactions", "import", str(source)]).output
    for fmt in ("csv", "jsonl"):
        path = tmp_path / f"export.{fmt}"
        path.write_text(client.get(f"/api/v1/interactions/export?format={fmt}")
                        .get_data(as_text=True))
        result = runner.invoke(["interactions", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "0 created, 0 updated, 0 unchanged, 2 skipped, 0 failed of 2 rows" in result.output


def comparable(rows):
    for r in rows:
        for key in ("id", "customer_id", "source", "created_at"):
            r.pop(key)
        if r["amount"] not in (None, ""):
            r["amount"] = decimal.Decimal(r["amount"])
    return rows


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_imported_into_another_installation_round_trips(make_app, make_runner, client,
                                                                  tmp_path, fmt,
                                                                  other_database_url):
    sample(client)
    customers = tmp_path / "customers.jsonl"
    customers.write_text(client.get("/api/v1/customers/export?format=jsonl")
                         .get_data(as_text=True))
    exported = client.get(f"/api/v1/interactions/export?format={fmt}").get_data(as_text=True)
    path = tmp_path / f"interactions.{fmt}"
    path.write_text(exported)
    parse = parse_csv if fmt == "csv" else parse_jsonl

    url = other_database_url  # another installation: apps made on it point there
    fresh = make_app(DATABASE_URL=url)
    other_runner = make_runner(DATABASE_URL=url)
    # Bob has no email: the people are created in another order, so ids differ.
    create(fresh.test_client(), first_name="Someone else")
    result = other_runner.invoke(["customers", "import", str(customers)])
    assert "2 created" in result.output, result.output
    result = other_runner.invoke(["interactions", "import", str(path),
                                  "--map", "customer_id="])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output and "0 failed" in result.output
    again = fresh.test_client().get(f"/api/v1/interactions/export?format={fmt}")
    assert comparable(parse(again.get_data(as_text=True))) == comparable(parse(exported))
