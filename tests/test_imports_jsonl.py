"""JSON Lines imports: one object per line through the same row pipeline as CSV, from the CLI and
the upload API; bad lines reported by line number and key; exports import back."""
import csv
import decimal
import io
import json
import os

import pytest

from crmkit import Manifest, hookimpl
from crmkit.customers.models import Customer
from crmkit.db import connection
from crmkit.imports.models import ImportJob
from crmkit.worker.testing import run_due


@pytest.fixture
def crmkit_config(crmkit_database_url, tmp_path):
    return {"DATABASE_URL": crmkit_database_url, "IMPORTS_DIR": str(tmp_path / "uploads")}


@pytest.fixture(autouse=True)
def schema(app):
    return app


def write_lines(tmp_path, lines, name="people.jsonl"):
    """Objects are written as JSON; bytes and str as they are."""
    path = tmp_path / name
    with open(path, "wb") as f:
        for line in lines:
            if isinstance(line, bytes):
                f.write(line + b"\n")
            elif isinstance(line, str):
                f.write(line.encode() + b"\n")
            else:
                f.write(json.dumps(line).encode() + b"\n")
    return str(path)


def run(runner, *args, exit_code=0):
    result = runner.invoke(list(args))
    assert result.exit_code == exit_code, result.output + repr(result.exception)
    return result.output


def read_report(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.reader(f))


def records(client, **params):
    return client.get("/api/v1/customers", query_string={"sort": "id", "limit": 200,
                                                          **params}).json["items"]


def define(client, name, type, **extra):
    response = client.post("/api/v1/custom-fields", json={"name": name, "type": type, **extra})
    assert response.status_code == 201, response.json


def test_lines_are_customers_with_arrays_numbers_and_custom_fields(runner, client, tmp_path):
    define(client, "tier", "choice", choices=["gold", "silver"])
    define(client, "topics", "multi_choice", choices=["heating", "solar"])
    define(client, "budget", "decimal")
    define(client, "seats", "number")
    define(client, "newsletter", "boolean")
    acme = client.post("/api/v1/customers", json={"kind": "company", "name": "Acme"}).json
    path = write_lines(tmp_path, [
        {"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com",
         "other_emails": ["ada@work.example"], "phone": "+44 20 7946 0958",
         "tags": ["VIP", "newsletter"], "country": "gb", "company_id": acme["id"],
         "notes": "Line 1\nLine 2, with \"quotes\" and | bars",
         "custom.tier": "gold", "custom.topics": ["solar", "heating"],
         "custom.budget": 1234.10, "custom.seats": 12, "custom.newsletter": True},
        "",
        {"first_name": "Bob", "email": "bob@example.com", "custom": {"tier": "silver",
                                                                     "budget": "0.10"},
         "created_at": "2020-01-01T00:00:00+00:00", "phone": None},
    ])
    output = run(runner, "customers", "import", path)
    assert "2 created, 0 updated, 0 unchanged, 0 skipped, 0 failed of 3 rows" in output
    _, ada, bob = records(client)
    assert (ada["name"], ada["email"], ada["other_emails"], ada["phone"]) == (
        "Ada Lovelace", "Ada@Example.com", ["ada@work.example"], "+442079460958")
    assert ada["tags"] == ["newsletter", "VIP"] and ada["country"] == "GB"
    assert ada["company_id"] == acme["id"]
    assert ada["notes"] == "Line 1\nLine 2, with \"quotes\" and | bars"
    assert ada["custom"]["tier"] == "gold" and ada["custom"]["topics"] == ["heating", "solar"]
    assert decimal.Decimal(ada["custom"]["budget"]) == decimal.Decimal("1234.10")
    assert ada["custom"]["seats"] == 12 and ada["custom"]["newsletter"] is True
    assert bob["custom"]["tier"] == "silver"
    assert decimal.Decimal(bob["custom"]["budget"]) == decimal.Decimal("0.1")
    with client.application.app_context(), connection():
        assert ImportJob.get().format == "jsonl"


def test_bad_lines_are_reported_by_line_and_key_while_good_lines_go_in(runner, client, tmp_path):
    define(client, "seats", "number")
    path = write_lines(tmp_path, [
        {"first_name": "Ada", "email": "ada@example.com"},           # 1
        '{"first_name": "Bob", "email": ',                            # 2 not JSON
        '["Cy", "cy@example.com"]',                                   # 3 not an object
        {"first_name": "Dee", "segment": "vip"},                      # 4 unknown key
        {"first_name": "Eve", "tags": "vip"},                         # 5 a string, not a list
        {"first_name": "Fay", "company_id": "12"},                    # 6 a string, not a number
        {"first_name": "Gus", "email": 42},                           # 7 a number, not a string
        "Hal,hal@example.com".encode() + b"\xe9",                     # 8 not UTF-8, not JSON
        '{"first_name": "Ida", "first_name": "Ivy"}',                 # 9 a key twice
        {"first_name": "Jo", "email": "not-an-email"},                # 10 the importer's rule
        {"first_name": "Kim", "custom": {"seats": "many", "colour": "red"}},  # 11 custom fields
        {"first_name": "Lu", "tags": ["a|b"]},                        # 12 one tag holding |
        {"first_name": "Max", "email": "max@example.com"},            # 13
    ])
    report = str(tmp_path / "report.csv")
    output = run(runner, "customers", "import", path, "--report", report)
    assert "3 created" in output and "10 failed (76.9%) of 13 rows" in output
    rows = read_report(report)
    assert rows[0] == ["row", "column", "message"]
    by_row = {}
    for row, column, message in rows[1:]:
        by_row.setdefault(int(row), []).append((column, message))
    assert by_row[2] == [("", "Not valid JSON: Expecting value (column 31).")]
    assert by_row[3] == [("", "Not a JSON object: each line must hold one {...} record, not "
                              "an array.")]
    assert by_row[4] == [("segment", "Not a customer field. Map it (--map 'segment=FIELD') or "
                                     "ignore it (--map 'segment=').")]
    assert by_row[5] == [("tags", "Not a valid list of strings.")]
    assert by_row[6] == [("company_id", "Not a valid integer.")]
    assert by_row[7] == [("email", "Not a valid string.")]
    assert by_row[8][0][0] == "" and by_row[8][0][1].startswith(
        "Not UTF-8 text: bytes 0xE9 at byte 20 do not decode.")
    assert by_row[9] == [("first_name", "Key 'first_name' appears twice in the object.")]
    assert by_row[10] == [("email", "Not a valid email address.")]
    # What the line itself gets wrong fails it before the batch checks its values.
    assert by_row[11] == [("custom.colour", "Not a custom field of customers.")]
    assert 12 not in by_row
    assert [(c["name"], c["tags"]) for c in records(client)] == [
        ("Ada", []), ("Lu", ["a|b"]), ("Max", [])]


def test_custom_values_are_checked_against_their_definitions(runner, client, tmp_path):
    define(client, "seats", "number")
    path = write_lines(tmp_path, [{"first_name": "Kim", "custom": {"seats": "many"}},
                                  {"first_name": "Lee", "custom.seats": [1]}])
    report = str(tmp_path / "report.csv")
    run(runner, "customers", "import", path, "--report", report, exit_code=1)
    assert read_report(report)[1:] == [
        ["1", "custom.seats", "Not a valid value: expected a whole number."],
        ["2", "custom.seats", "Not a valid value: give a string, number or true/false."]]


def test_nothing_importable_exits_non_zero(runner, client, tmp_path):
    path = write_lines(tmp_path, [{"first_name": "A", "email": "x"}, "not json",
                                  {"first_name": "B", "email": "y"}])
    output = run(runner, "customers", "import", path, exit_code=1)
    assert "3 failed (100.0%) of 3 rows" in output
    assert "Nothing could be imported" in output
    assert records(client) == []


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty"),
    (b"\n  \n", "The file is empty"),
    (b"first_name,email\nAda,ada@example.com\n", "is not a JSON Lines file: none of its first 2 "
                                                 "lines is a JSON object (line 1: "
                                                 "'first_name,email'). A CSV file is imported "
                                                 "with format csv (--format csv)."),
    ('{"first_name": "Ada"}\n'.encode("utf-16"), "is UTF-16 text"),
])
def test_files_that_are_not_json_lines_are_refused_whole(runner, client, tmp_path, content,
                                                        message):
    path = tmp_path / "people.jsonl"
    path.write_bytes(content)
    output = run(runner, "customers", "import", str(path), exit_code=1)
    assert "people.jsonl cannot be imported" in output and message in output
    with client.application.app_context(), connection():
        assert ImportJob.select().count() == 0


def test_format_option_mapping_and_dry_run(runner, client, tmp_path):
    path = write_lines(tmp_path, [{"Vorname": "Ada", "E-Mail": "ada@example.com", "x": 1}],
                       name="people.txt")
    # A .txt file is CSV unless told otherwise.
    assert "import a JSON Lines file with format jsonl" in run(
        runner, "customers", "import", path, exit_code=1)
    run(runner, "customers", "import", path, "--format", "jsonl", "--map", "Vorname=first_name",
        "--map", "E-Mail=email", "--map", "x=", "--dry-run")
    assert records(client) == []
    refused = run(runner, "customers", "import", path, "--format", "jsonl", "--map",
                  "Vorname=nickname", exit_code=1)
    assert "'nickname' is not a customer field" in refused
    output = run(runner, "customers", "import", path, "--format", "jsonl", "--map",
                 "Vorname=first_name", "--map", "E-Mail=email", "--map", "x=")
    assert "1 created" in output
    [ada] = records(client)
    assert (ada["first_name"], ada["email"]) == ("Ada", "ada@example.com")


def test_a_key_only_late_lines_hold_is_read(runner, client, tmp_path, monkeypatch):
    from crmkit.imports import jsonlines
    monkeypatch.setattr(jsonlines, "CHUNK", 64)  # the key search crosses many chunk borders
    lines = [{"first_name": f"P{i}"} for i in range(30)]
    lines.append({"first_name": "Late", "utm_campaign": "spring", "custom": {}})
    path = write_lines(tmp_path, lines)
    assert "31 created" in run(runner, "customers", "import", path)
    assert records(client, q="Late")[0]["utm_campaign"] == "spring"


def test_a_file_without_any_name_key_is_refused_and_escaped_keys_are_reported(runner, client,
                                                                              tmp_path):
    path = write_lines(tmp_path, [{"email": "ada@example.com"}, {"city": "Oslo"}])
    output = run(runner, "customers", "import", path, exit_code=1)
    assert "No key gives first_name or last_name or name; every customer needs one." in output
    path = write_lines(tmp_path, ['{"first_name": "Ada", "l\\u0061st_name": "Lovelace"}',
                                  {"first_name": "Bob"}], name="escaped.jsonl")
    report = str(tmp_path / "report.csv")
    run(runner, "customers", "import", path, "--report", report)
    assert read_report(report)[1:] == [
        ["1", "last_name", "Write this key without \\u escapes: keys are found by name."]]


def test_a_file_in_another_encoding_is_read_with_its_name(runner, client, tmp_path):
    path = write_lines(tmp_path, ['{"first_name": "José", "city": "Zürich"}'.encode("cp1252")])
    # No line near the start decodes: the file as a whole is refused, naming the encoding.
    refused = run(runner, "customers", "import", path, exit_code=1)
    assert "cannot be read as JSON Lines; line 1: Not UTF-8 text: bytes 0xE9" in refused
    assert "--encoding cp1252" in refused
    assert "1 created" in run(runner, "customers", "import", path, "--encoding", "cp1252")
    [jose] = records(client)
    assert (jose["first_name"], jose["city"]) == ("José", "Zürich")
    refused = run(runner, "customers", "import", path, "--encoding", "utf-16", exit_code=1)
    assert "A JSON Lines file must be UTF-8" in refused


def test_duplicates_update_skip_or_error_as_for_csv(runner, client, tmp_path):
    client.post("/api/v1/customers", json={"first_name": "Old", "email": "ada@example.com",
                                           "city": "Paris"})
    path = write_lines(tmp_path, [{"first_name": "Ada", "email": "ADA@example.com",
                                   "city": "London"}])
    output = run(runner, "customers", "import", path, exit_code=1)
    assert "1 failed" in output
    output = run(runner, "customers", "import", path, "--on-duplicate", "update")
    assert "1 updated" in output
    [ada] = records(client)
    assert (ada["first_name"], ada["city"]) == ("Ada", "London")


class Crash(BaseException):
    """Not an Exception: nothing in the import catches it, as with a killed process."""


def test_a_failure_mid_file_resumes_after_the_last_committed_line(make_runner, runner, client,
                                                                   tmp_path):
    class Crasher:
        manifest = Manifest(name="crasher")

        @hookimpl
        def customer_created(self, customer):
            if customer.first_name == "P7":
                raise Crash()

    lines = [{"first_name": f"P{i}", "email": f"p{i}@example.com"} for i in range(10)]
    lines.insert(2, "broken")
    path = write_lines(tmp_path, lines)
    with pytest.raises(Crash):
        make_runner(plugins=[Crasher()]).invoke(["customers", "import", path, "--batch-size",
                                                 "3"])
    with client.application.app_context(), connection():
        job = ImportJob.get()
        assert Customer.select().count() == job.rows_done - 1 > 0
    assert "--format" in run(runner, "customers", "import", "--resume", str(job.id), "--format",
                             "jsonl", exit_code=1)
    output = run(runner, "customers", "import", "--resume", str(job.id))
    assert "10 created" in output and "1 failed" in output and "of 11 rows" in output
    assert [c["name"] for c in records(client)] == [f"P{i}" for i in range(10)]
    assert read_report(str(tmp_path / "people.errors.csv"))[1:] == [
        ["3", "", "Not valid JSON: Expecting value (column 1)."]]


def test_interactions_from_json_lines_keep_exact_amounts(runner, client, tmp_path):
    ada = client.post("/api/v1/customers", json={"first_name": "Ada",
                                                 "email": "ada@example.com"}).json
    path = write_lines(tmp_path, [
        '{"customer_email": "ada@example.com", "type": "purchase", "amount": 0.10, '
        '"currency": "EUR", "occurred_at": "2024-05-01T14:30:00Z", "external_id": "o-1", '
        '"lines": [{"sku": "A1", "name": "Valve", "quantity": 3, "unit_price": 19.99}], '
        '"payload": {"order": {"number": 17}}}',
        {"customer_id": ada["id"], "type": "call", "summary": "Hello", "direction": "outbound"},
        {"customer_id": str(ada["id"]), "type": "call"},
        {"customer_id": ada["id"], "type": "purchase", "amount": [1], "currency": "EUR"},
        {"customer_id": ada["id"], "type": "note", "payload": "text"},
        {"customer_id": ada["id"], "type": "purchase", "amount": "12.5", "currency": "EUR",
         "lines": [1]},
    ], name="orders.jsonl")
    report = str(tmp_path / "report.csv")
    output = run(runner, "interactions", "import", path, "--report", report)
    assert "2 created" in output and "4 failed" in output
    assert read_report(report)[1:] == [
        ["3", "customer_id", "Not a valid integer."],
        ["4", "amount", 'Not a valid amount: give a number or a string such as "12.50".'],
        ["5", "payload", "Must be a JSON object."],
        ["6", "lines", "Must be a JSON list of line items (objects)."]]
    timeline = client.get(f"/api/v1/customers/{ada['id']}/interactions").json["items"]
    purchase = next(i for i in timeline if i["type"] == "purchase")
    assert decimal.Decimal(purchase["amount"]) == decimal.Decimal("0.10")
    assert purchase["lines"][0]["total"] == "59.97"
    assert purchase["payload"] == {"order": {"number": 17}}
    assert purchase["occurred_at"].startswith("2024-05-01T14:30:00")
    # Importing the file again records nothing twice (external_id).
    assert "1 skipped" in run(runner, "interactions", "import", path, "--report", report)


# -- over HTTP ------------------------------------------------------------------------------------

def upload(client, data: bytes, filename="people.jsonl", mimetype="application/x-ndjson",
           **form):
    form["file"] = (io.BytesIO(data), filename, mimetype)
    return client.post("/api/v1/imports", data=form, content_type="multipart/form-data")


def test_upload_of_a_json_lines_file_is_imported_by_the_worker(app, client):
    data = b"\n".join([json.dumps({"first_name": "Ada", "email": "ada@example.com",
                                   "tags": ["vip"]}).encode(),
                       b'{"first_name": "Bob", "tags": "vip"}',
                       json.dumps({"first_name": "Cy"}).encode()])
    response = upload(client, data)
    assert response.status_code == 202, response.json
    job = response.json
    assert (job["format"], job["rows_total"]) == ("jsonl", 3)
    with app.app_context(), connection():
        stored = ImportJob.get_by_id(job["id"]).path
    assert stored.endswith(".jsonl")
    run_due(app)
    polled = client.get(f"/api/v1/imports/{job['id']}").json
    assert (polled["state"], polled["rows_done"], polled["rows_created"],
            polled["rows_failed"]) == ("done", 3, 2, 1)
    errors = client.get(polled["errors_url"]).get_data(as_text=True)
    assert list(csv.reader(io.StringIO(errors))) == [
        ["row", "column", "message"], ["2", "tags", "Not a valid list of strings."]]
    assert [c["name"] for c in records(client)] == ["Ada", "Cy"]
    assert not os.path.exists(stored)


def test_upload_format_field_and_refusals(app, client):
    line = json.dumps({"first_name": "Ada"}).encode()
    as_text = upload(client, line, filename="people.txt", mimetype="text/plain", format="jsonl")
    assert as_text.status_code == 202 and as_text.json["format"] == "jsonl"
    refused = upload(client, b"first_name\nAda\n")
    assert refused.status_code == 422
    assert "is not a JSON Lines file" in " ".join(refused.json["errors"]["form"]["file"])
    bad = upload(client, line, format="xml")
    assert bad.status_code == 422 and "format" in bad.json["errors"]["form"]
    unmapped = upload(client, line, mapping='{"first_name": "nickname"}')
    assert unmapped.status_code == 422
    assert "'nickname' is not a customer field" in " ".join(
        unmapped.json["errors"]["form"]["mapping"])
    with app.app_context(), connection():
        assert ImportJob.select().count() == 1
