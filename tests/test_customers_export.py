"""Exports: CSV and JSON Lines with the list's filters, over HTTP and the CLI, and round trips."""
import csv
import io
import json

import pytest



@pytest.fixture(autouse=True)
def schema(app):
    return app


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json


def define(client, name, type, **extra):
    response = client.post("/api/v1/custom-fields", json={"name": name, "type": type, **extra})
    assert response.status_code == 201, response.json


def parse_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def sample(client):
    define(client, "tier", "choice", choices=["gold", "silver"])
    define(client, "topics", "multi_choice", choices=["heating", "solar"])
    define(client, "budget", "decimal")
    define(client, "since", "date")
    define(client, "newsletter", "boolean")
    acme = create(client, kind="company", name="Acme Heating", email="info@acme.example",
                  tags=["b2b"])
    ada = create(client, first_name="Ada", last_name="Lovelace", email="ada@example.com",
                 other_emails=["ada@work.example"], phone="+44 20 7946 0958",
                 other_phones=["+44 20 7946 0959"], company_id=acme["id"], city="London",
                 country="GB", status="active", tags=["VIP", "newsletter"], notes="Line 1\nLine 2, "
                 "with \"quotes\"", custom={"tier": "gold", "topics": ["solar", "heating"],
                                           "budget": "1234.5", "since": "2020-02-29",
                                           "newsletter": True})
    bob = create(client, first_name="Bob", email="bob@example.com", status="potential",
                 custom={"tier": "silver", "newsletter": False})
    return acme, ada, bob


def test_csv_export_has_every_field_custom_fields_and_tags(client):
    acme, ada, bob = sample(client)
    response = client.get("/api/v1/customers/export")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="customers.csv"'
    rows = parse_csv(response.get_data(as_text=True))
    assert [r["id"] for r in rows] == [str(acme["id"]), str(ada["id"]), str(bob["id"])]
    row = rows[1]
    assert row["other_emails"] == "ada@work.example"
    assert row["phone"] == "+442079460958" and row["other_phones"] == "+442079460959"
    assert row["tags"] == "newsletter|VIP" and row["company_id"] == str(acme["id"])
    assert row["custom.topics"] == "heating|solar" and row["custom.newsletter"] == "true"
    assert row["custom.since"] == "2020-02-29" and row["custom.tier"] == "gold"
    assert row["notes"] == 'Line 1\nLine 2, with "quotes"'
    assert list(rows[0])[-2:] == ["created_at", "updated_at"]


def test_filters_are_the_list_filters(client):
    acme, ada, bob = sample(client)
    for params, expected in [({"status": "active"}, [ada]), ({"tag": "vip"}, [ada]),
                             ({"custom.tier": "silver"}, [bob]), ({"kind": "company"}, [acme]),
                             ({"q": "bob@"}, [bob])]:
        response = client.get("/api/v1/customers/export", query_string=params)
        assert [int(r["id"]) for r in parse_csv(response.get_data(as_text=True))] == [
            c["id"] for c in expected], params
    bad = client.get("/api/v1/customers/export", query_string={"status": "happy"})
    assert bad.status_code == 422 and "status" in bad.json["errors"]["query"]
    for param in ("cursor", "sort", "nonsense"):
        response = client.get("/api/v1/customers/export", query_string={param: "x"})
        assert response.status_code == 422, param
    assert client.get("/api/v1/customers/export?format=xml").status_code == 422


def test_jsonl_export_is_the_api_record_per_line(client):
    _, ada, _ = sample(client)
    response = client.get("/api/v1/customers/export", query_string={"format": "jsonl",
                                                                    "tag": "vip"})
    assert response.mimetype == "application/x-ndjson"
    [line] = response.get_data(as_text=True).splitlines()
    record = json.loads(line)
    api = client.get(f"/api/v1/customers/{ada['id']}").json
    assert record["custom"]["budget"].startswith("1234.5")
    assert {k: v for k, v in record.items() if k != "custom"} == {
        k: v for k, v in api.items() if k != "custom"}
    assert record["custom"]["topics"] == ["heating", "solar"]


def test_export_needs_the_export_permission(make_client, anon_client):
    assert make_client("read-only").get("/api/v1/customers/export").status_code == 403
    assert anon_client.get("/api/v1/customers/export").status_code == 401
    assert make_client("manager").get("/api/v1/customers/export").status_code == 200


def test_an_export_shows_only_what_the_caller_may_see(client, make_user, make_client):
    manager = make_user("manager", teams=["north"], manager_of=["north"])
    create(client, first_name="Mine", owner_id=manager.id)
    create(client, first_name="Unowned")
    mine = make_client(user=manager).get("/api/v1/customers/export").get_data(as_text=True)
    assert [r["first_name"] for r in parse_csv(mine)] == ["Mine"]


def test_cli_export_writes_a_file(runner, client, tmp_path):
    sample(client)
    target = tmp_path / "out.jsonl"
    result = runner.invoke(["customers", "export", "--format", "jsonl", "--status", "active",
                            "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["name"] for line in target.read_text().splitlines()] == [
        "Ada Lovelace"]
    result = runner.invoke(["customers", "export", "--custom", "tier=silver"])
    assert [r["first_name"] for r in parse_csv(result.output)] == ["Bob"]
    assert runner.invoke(["customers", "export", "--status", "happy"]).exit_code == 1


def comparable(rows):
    """Rows without what an import cannot keep: ids (company links compared by name) and
    timestamps."""
    names = {r["id"]: r["name"] for r in rows}
    out = []
    for r in rows:
        r = dict(r)
        r["company"] = names.get(r.pop("company_id"), "")
        for key in ("id", "created_at", "updated_at"):
            r.pop(key)
        out.append(r)
    return out


PARSE = {"csv": parse_csv,
         "jsonl": lambda text: [json.loads(line) for line in text.splitlines()]}


@pytest.mark.parametrize("fmt", sorted(PARSE))
def test_reimporting_an_export_changes_nothing(runner, client, tmp_path, fmt):
    sample(client)
    path = tmp_path / f"export.{fmt}"
    path.write_text(client.get(f"/api/v1/customers/export?format={fmt}").get_data(as_text=True))
    result = runner.invoke(["customers", "import", str(path), "--on-duplicate", "update"])
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated, 3 unchanged" in result.output
    again = client.get(f"/api/v1/customers/export?format={fmt}").get_data(as_text=True)
    assert again == path.read_text()


@pytest.mark.parametrize("fmt", sorted(PARSE))
def test_an_export_imported_into_an_empty_installation_round_trips(make_app, make_runner,
                                                                   client, tmp_path, fmt,
                                                                   other_database_url):
    sample(client)
    exported = client.get(f"/api/v1/customers/export?format={fmt}").get_data(as_text=True)
    path = tmp_path / f"export.{fmt}"
    path.write_text(exported)
    definitions = client.get("/api/v1/custom-fields").json

    url = other_database_url  # another installation: apps made on it point there
    fresh = make_app(DATABASE_URL=url)
    fresh_client = fresh.test_client()
    for field in definitions:
        fresh_client.post("/api/v1/custom-fields", json={
            k: field[k] for k in ("name", "type", "label", "choices", "required")
            if field[k] not in (None, [])})
    result = make_runner(DATABASE_URL=url).invoke(["customers", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    reexported = fresh_client.get(f"/api/v1/customers/export?format={fmt}").get_data(as_text=True)
    assert comparable(PARSE[fmt](reexported)) == comparable(PARSE[fmt](exported))
