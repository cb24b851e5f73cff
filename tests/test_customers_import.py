"""``crmkit customers import`` and ``crmkit interactions import``: mapping, duplicates, dry runs,
the error report, refused files, resuming, and the same rules as the API."""
import csv
import os
import decimal
import json

import pytest

from crmkit import Manifest, hookimpl
from crmkit.customers.models import Customer, CustomerEmail, CustomerPhone, Interaction
from crmkit.db import connection
from crmkit.events import Event
from crmkit.imports.models import ImportJob, ImportProblem


@pytest.fixture(autouse=True)
def schema(app):
    return app


@pytest.fixture(params=["in-process", "worker"])
def crmkit_config(request, crmkit_database_url):
    """Every test twice: rows read and checked in the importing process, as for small files,
    and in a worker process while the importing one writes, as for large ones."""
    return {"DATABASE_URL": crmkit_database_url,
            "IMPORT_WORKER_MIN_ROWS": 1 if request.param == "worker" else 10**9}


def write_csv(tmp_path, rows, name="people.csv", encoding="utf-8"):
    path = tmp_path / name
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path)


def run(runner, *args, exit_code=0):
    result = runner.invoke(list(args))
    assert result.exit_code == exit_code, result.output + repr(result.exception)
    return result.output


def read_report(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.reader(f))


def in_db(app, func):
    with app.app_context(), connection():
        return func()


def records(client, **params):
    return client.get("/api/v1/customers", query_string={"sort": "id", "limit": 200,
                                                          **params}).json["items"]


def test_import_creates_customers_with_contacts_tags_and_custom_fields(runner, client, tmp_path):
    run(runner, "custom-fields", "define", "tier", "--type", "choice", "--choice", "gold",
        "--choice", "silver")
    run(runner, "custom-fields", "define", "topics", "--type", "multi_choice",
        "--choice", "heating", "--choice", "solar")
    run(runner, "custom-fields", "define", "budget", "--type", "decimal")
    path = write_csv(tmp_path, [
        ["first_name", "last_name", "email", "other_emails", "phone", "tags", "country",
         "status", "custom.tier", "custom.topics", "custom.budget"],
        ["Ada", "Lovelace", "Ada@Example.com", "ada@work.example|ada@home.example",
         "+44 20 7946 0958", "VIP|newsletter", "gb", "prospect", "gold", "solar|heating",
         "1234.50"],
        ["Bob", "Stone", "bob@example.com", "", "", "", "", "", "", "", ""],
    ])
    output = run(runner, "customers", "import", path)
    assert "2 created, 0 updated, 0 unchanged, 0 skipped, 0 failed of 2 rows" in output
    ada, bob = records(client)
    assert ada["name"] == "Ada Lovelace" and ada["email"] == "Ada@Example.com"
    assert ada["other_emails"] == ["ada@work.example", "ada@home.example"]
    assert ada["phone"] == "+442079460958" and ada["country"] == "GB"
    assert ada["tags"] == ["newsletter", "VIP"] and ada["status"] == "prospect"
    assert ada["custom"] == {"tier": "gold", "topics": ["heating", "solar"],
                             "budget": "1234.500000"} or decimal.Decimal(
        ada["custom"]["budget"]) == decimal.Decimal("1234.5")
    assert bob["status"] == "potential" and bob["tags"] == [] and bob["custom"] == {}
    # Exactly what the API would have stored: contact rows, and the lookup by email works.
    search = client.get("/api/v1/customers", query_string={"q": "ada@work"}).json["items"]
    assert [c["id"] for c in search] == [ada["id"]]  # q searches every email
    dup = client.post("/api/v1/customers", json={"first_name": "X", "email": "ADA@HOME.example"})
    assert dup.status_code == 422
    assert "Already used by customer" in dup.json["errors"]["json"]["email"][0]


def test_headers_match_loosely_and_map_renames_or_ignores_columns(runner, client, tmp_path):
    path = write_csv(tmp_path, [
        ["First Name", "Last-Name", "E-mail Address", "Internal note", "Segment"],
        ["Ada", "Lovelace", "ada@example.com", "ignore me", "vip"],
    ])
    refused = run(runner, "customers", "import", path, exit_code=1)
    assert "Column 'E-mail Address' is not a customer field" in refused
    assert "--map 'E-mail Address=FIELD'" in refused and "Column 'Segment'" in refused
    assert records(client) == []
    run(runner, "customers", "import", path, "--map", "E-mail Address=email",
        "--map", "Internal note=", "--map", "Segment=tags")
    [ada] = records(client)
    assert (ada["first_name"], ada["last_name"], ada["email"], ada["tags"]) == (
        "Ada", "Lovelace", "ada@example.com", ["vip"])


def test_bad_rows_are_reported_by_row_and_column_while_good_rows_go_in(runner, client,
                                                                       tmp_path):
    path = write_csv(tmp_path, [
        ["first_name", "email", "phone", "status", "country"],
        ["Ada", "ada@example.com", "", "", ""],
        ["Bob", "not-an-email", "", "", ""],
        ["Cy", "cy@example.com", "12", "happy", ""],
        ["", "", "", "", ""],
        ["Dee", "dee@example.com", "", "", "Germany"],
        ["Eve", "eve@example.com", "", ""],
    ])
    report = str(tmp_path / "report.csv")
    output = run(runner, "customers", "import", path, "--report", report)
    assert "1 created" in output and "4 failed (66.7%) of 6 rows" in output
    assert f"Error report (row, column, message): {report}" in output
    assert read_report(report) == [
        ["row", "column", "message"],
        ["3", "email", "Not a valid email address."],
        ["4", "phone", "Not a valid phone number (use the international form, e.g. "
                       "+44 20 7946 0958)."],
        ["4", "status", "Must be one of: potential, prospect, active, inactive, churned."],
        ["6", "country", "An ISO 3166 code such as DE."],
        ["7", "", "The row has 4 cells; the header has 5 (a value with the delimiter in it "
                  "needs quotes)."],
    ]
    assert [c["name"] for c in records(client)] == ["Ada"]


def test_nothing_importable_exits_non_zero(runner, client, tmp_path):
    path = write_csv(tmp_path, [["first_name", "email"], ["A", "x"], ["B", "y"]])
    output = run(runner, "customers", "import", path, exit_code=1)
    assert "2 failed (100.0%) of 2 rows" in output
    assert "Nothing could be imported" in output
    empty = write_csv(tmp_path, [["first_name", "email"]], name="empty.csv")
    assert "has a header but no rows" in run(runner, "customers", "import", empty, exit_code=1)


def test_ten_percent_broken_rows_are_summarised_and_the_rest_imported(runner, client, tmp_path):
    rows = [["first_name", "email"]]
    for i in range(100):
        rows.append([f"P{i}", f"p{i}@example.com" if i % 10 else f"broken{i}"])
    path = write_csv(tmp_path, rows)
    output = run(runner, "customers", "import", path, "--batch-size", "7")
    assert "90 created, 0 updated, 0 unchanged, 0 skipped, 10 failed (10.0%) of 100" in output
    assert "Most common problems:" in output
    assert "      10 rows  email: Not a valid email address." in output
    assert len(read_report(str(tmp_path / "people.errors.csv"))) == 11
    assert in_db(client.application, lambda: Customer.select().count()) == 90


@pytest.mark.parametrize("mode, created, outcome", [
    ("error", 0, "1 failed"), ("skip", 0, "1 skipped"), ("update", 0, "1 updated")])
def test_on_duplicate_matches_normalised_email_and_phone(runner, client, tmp_path, mode, created,
                                                         outcome):
    first = client.post("/api/v1/customers", json={
        "first_name": "Ada", "email": "ada@example.com", "phone": "+44 20 7946 0958",
        "city": "London"}).json
    path = write_csv(tmp_path, [["first_name", "email", "phone", "city"],
                                ["Ada", "ADA@Example.COM", "", "Paris"],
                                ["Ada L", "", "+442079460958", ""]])
    output = run(runner, "customers", "import", path, "--on-duplicate", mode,
                 exit_code=1 if mode == "error" else 0)
    [stored] = records(client)
    assert stored["id"] == first["id"]
    if mode == "error":
        assert "2 failed" in output
        report = read_report(str(tmp_path / "people.errors.csv"))
        assert report[1] == ["2", "email", f"Duplicate: customer {first['id']} has this email "
                                           "(import with on-duplicate update or skip to take "
                                           "the row)."]
        assert report[2][:2] == ["3", "phone"]
        assert stored["city"] == "London"
    elif mode == "skip":
        assert "2 skipped" in output and stored["city"] == "London"
    else:
        # Filled cells change the customer; empty ones leave it as it was.
        assert "2 updated" in output
        assert (stored["city"], stored["first_name"], stored["email"]) == (
            "Paris", "Ada L", "ADA@Example.COM")


def test_a_file_repeating_an_email_meets_its_own_earlier_row(runner, client, tmp_path):
    path = write_csv(tmp_path, [["first_name", "email", "city"], ["Ada", "ada@example.com", "A"],
                                ["Bob", "bob@example.com", "B"],
                                ["Ada", "ADA@example.com", "C"]])
    output = run(runner, "customers", "import", path, "--on-duplicate", "update")
    assert "2 created, 1 updated" in output
    assert [(c["name"], c["city"]) for c in records(client)] == [("Ada", "C"), ("Bob", "B")]


def test_dry_run_reports_what_would_happen_and_stores_nothing(runner, client, tmp_path):
    client.post("/api/v1/customers", json={"first_name": "Old", "email": "old@example.com"})
    path = write_csv(tmp_path, [["first_name", "email"], ["A", "a@example.com"], ["B", "bad"],
                                ["Old", "old@example.com"], ["A again", "A@example.com"]])
    output = run(runner, "customers", "import", path, "--dry-run", "--batch-size", "1",
                 "--on-duplicate", "skip")
    assert ("Dry run, nothing stored; would have 1 created, 0 updated, 0 unchanged, "
            "2 skipped, 1 failed (25.0%) of 4 rows") in output
    assert [c["name"] for c in records(client)] == ["Old"]
    assert in_db(client.application, lambda: Event.select().where(
        Event.type == "customer.created").count()) == 1


def test_each_created_customer_emits_an_event_and_runs_the_hooks(make_runner, client, tmp_path):
    created = []

    class Watcher:
        manifest = Manifest(name="watcher")

        @hookimpl
        def customer_created(self, customer):
            created.append((customer.id, customer.email))

    path = write_csv(tmp_path, [["first_name", "email"]] + [
        [f"P{i}", f"p{i}@example.com"] for i in range(5)])
    run(make_runner(plugins=[Watcher()]), "customers", "import", path, "--batch-size", "2")
    ids = [c["id"] for c in records(client)]
    assert created == [(i, f"p{n}@example.com") for n, i in enumerate(ids)]
    events = client.get("/api/v1/events", query_string={"type": "customer.created"}).json
    assert [e["subject_id"] for e in events["events"]] == [str(i) for i in ids]
    assert events["events"][0]["payload"] == {
        "customer": {"id": ids[0], "kind": "person", "name": "P0", "email": "p0@example.com",
                     "phone": None, "status": "potential", "owner_id": None},
        "source": "import"}


def test_a_plugin_refusing_one_customer_fails_only_that_row(make_runner, client, tmp_path):
    class Gate:
        manifest = Manifest(name="gate")

        @hookimpl
        def validate_customer_change(self, customer, changes):
            if changes.get("first_name", [None, None])[1] == "Mallory":
                return {"first_name": "Not welcome."}

        @hookimpl
        def customer_created(self, customer):
            if customer.first_name == "Trudy":
                raise RuntimeError("the loyalty service refused Trudy")

    path = write_csv(tmp_path, [["first_name"], ["Ada"], ["Mallory"], ["Trudy"], ["Bob"]])
    output = run(make_runner(plugins=[Gate()]), "customers", "import", path)
    assert "2 created" in output and "2 failed" in output
    report = read_report(str(tmp_path / "people.errors.csv"))
    assert report[1] == ["3", "first_name", "Not welcome."]
    assert report[2] == ["4", "", "Could not be stored: the loyalty service refused Trudy"]
    assert [c["name"] for c in records(client)] == ["Ada", "Bob"]


class Crash(BaseException):
    """Not an Exception: nothing in the import catches it, as with a killed process."""


def test_a_failure_mid_file_leaves_whole_batches_and_the_import_resumes(make_runner, runner,
                                                                       client, tmp_path):
    class Crasher:
        manifest = Manifest(name="crasher")

        @hookimpl
        def customer_created(self, customer):
            if customer.first_name == "P7":
                raise Crash()

    path = write_csv(tmp_path, [["first_name", "email", "tags"]] + [
        [f"P{i}", f"p{i}@example.com", "imported"] for i in range(10)])
    with pytest.raises(Crash):
        make_runner(plugins=[Crasher()]).invoke(["customers", "import", path, "--batch-size",
                                                 "3"])

    def state():
        return (ImportJob.get().rows_done, Customer.select().count(),
                CustomerEmail.select().count(),
                Event.select().where(Event.type == "customer.created").count())

    # Batches of rows 1-3 and 4-6 committed; the batch holding P7 left nothing behind.
    assert in_db(client.application, state) == (6, 6, 6, 6)
    job_id = in_db(client.application, lambda: ImportJob.get().id)
    assert "--map" in run(runner, "customers", "import", "--resume", str(job_id), "--map",
                          "a=b", exit_code=1)
    # Not taken silently either: the import keeps the choice it started with.
    assert "--on-duplicate" in run(runner, "customers", "import", "--resume", str(job_id),
                                   "--on-duplicate", "update", exit_code=1)
    output = run(runner, "customers", "import", "--resume", str(job_id))
    assert "10 created" in output and "of 10 rows" in output
    assert in_db(client.application, state) == (10, 10, 10, 10)
    assert [c["name"] for c in records(client, tag="imported")] == [f"P{i}" for i in range(10)]
    assert "already done" in run(runner, "customers", "import", "--resume", str(job_id),
                                 exit_code=1)


def test_a_reading_process_that_dies_ends_with_how_to_resume_not_a_traceback(
        make_runner, client, tmp_path, monkeypatch):
    from crmkit.imports import customers as customer_import
    original = customer_import.CustomerImporter.prepare

    def prepare(self, row, cells):  # runs in the reading process: row 5 kills it, as an OOM would
        if row == 5:
            os._exit(9)
        return original(self, row, cells)

    monkeypatch.setattr(customer_import.CustomerImporter, "prepare", prepare)
    path = write_csv(tmp_path, [["first_name", "email"]] + [
        [f"P{i}", f"p{i}@example.com"] for i in range(8)])
    result = make_runner(IMPORT_WORKER_MIN_ROWS=1).invoke(
        ["customers", "import", path, "--batch-size", "2"])
    assert result.exit_code == 1, result.output
    assert "reading process ended unexpectedly" in result.output
    assert "continue with --resume" in result.output
    assert "Traceback" not in result.output
    monkeypatch.undo()
    job_id = in_db(client.application, lambda: ImportJob.get().id)
    output = run(make_runner(), "customers", "import", "--resume", str(job_id))
    assert "of 8 rows" in output
    assert in_db(client.application, lambda: Customer.select().count()) == 8


def test_a_second_run_of_a_job_stops_instead_of_importing_twice(app, tmp_path):
    from crmkit.db import write_transaction
    from crmkit.imports.runner import create_job, run_job
    path = write_csv(tmp_path, [["first_name", "email"]] + [
        [f"P{i}", f"p{i}@example.com"] for i in range(6)])

    def scenario():
        with write_transaction():
            job = create_job("customers", path)

        def other_run_moves_on(current, _position):
            # As if a second runner committed the next batch meanwhile.
            ImportJob.update(rows_done=ImportJob.rows_done + 2).where(
                ImportJob.id == current.id).execute()

        ended = run_job(job.id, progress=other_run_moves_on, batch_size=2)
        return ended.state, Customer.select().count()

    assert in_db(app, scenario) == ("running", 2)


def test_a_file_in_another_encoding_is_refused_with_a_hint(runner, client, tmp_path):
    path = write_csv(tmp_path, [["first_name", "city"], ["José", "Zürich"]], encoding="cp1252")
    output = run(runner, "customers", "import", path, exit_code=1)
    assert "is not UTF-8 text: line 2 holds bytes that do not decode" in output
    assert "--encoding cp1252" in output
    assert records(client) == []
    run(runner, "customers", "import", path, "--encoding", "cp1252")
    assert [(c["first_name"], c["city"]) for c in records(client)] == [("José", "Zürich")]
    assert "Unknown encoding 'klingon'" in run(runner, "customers", "import", path, "--encoding",
                                               "klingon", exit_code=1)


def test_files_without_a_usable_header_are_refused(runner, client, tmp_path):
    headless = write_csv(tmp_path, [["Ada", "Lovelace", "ada@example.com"]], name="h.csv")
    output = run(runner, "customers", "import", headless, exit_code=1)
    assert "The first line does not look like a header" in output
    assert "'ada@example.com'" in output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "The file is empty" in run(runner, "customers", "import", str(empty), exit_code=1)
    nameless = write_csv(tmp_path, [["email", "city"], ["a@example.com", "X"]], name="n.csv")
    assert "No column gives first_name or last_name or name" in run(
        runner, "customers", "import", nameless, exit_code=1)
    binary = tmp_path / "sheet.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    assert "not a CSV text file" in run(runner, "customers", "import", str(binary), exit_code=1)


def test_semicolon_files_are_read_with_their_delimiter(runner, client, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("first_name;last_name;email\nAda;Lovelace;ada@example.com\n",
                    encoding="utf-8-sig")
    run(runner, "customers", "import", str(path))
    assert [c["name"] for c in records(client)] == ["Ada Lovelace"]


@pytest.mark.parametrize("column, value, message", [
    ("email", "not-an-email", "Not a valid email address."),
    ("phone", "12", "Not a valid phone number"),
    ("status", "happy", "Must be one of"),
    ("country", "Germany", "An ISO 3166 code"),
    ("owner_id", "me", "Not a whole number below 2^31."),
    ("owner_id", "99999999999999999999", "Not a whole number below 2^31."),
    ("custom.nope", "1", "is not a customer field"),
    ("company_id", "999", "does not exist"),
    ("first_name", "x" * 151, "Longer than maximum length 150."),
])
def test_the_import_applies_the_api_rules(runner, client, tmp_path, column, value, message):
    path = write_csv(tmp_path, [["last_name", column], ["Lovelace", value]])
    output = runner.invoke(["customers", "import", path]).output
    report = tmp_path / "people.errors.csv"
    text = report.read_text() if report.exists() else output
    assert message in text
    assert records(client) == []


def test_companies_and_people_are_linked_through_the_file_ids(runner, client, tmp_path):
    path = write_csv(tmp_path, [
        ["id", "kind", "name", "first_name", "company_id"],
        ["501", "company", "Acme Heating", "", ""],
        ["502", "person", "", "Bob", "501"],
        ["503", "person", "", "Cy", "501"],
        ["504", "person", "", "Dee", "777"],
    ])
    output = run(runner, "customers", "import", path)
    assert "3 created" in output and "1 failed" in output
    acme, bob, cy = records(client)
    assert acme["kind"] == "company" and bob["company_id"] == cy["company_id"] == acme["id"]
    assert read_report(str(tmp_path / "people.errors.csv"))[1] == [
        "5", "company_id", "No company with id 777 earlier in this file."]


# -- interactions -------------------------------------------------------------------------------

def test_interactions_import_matches_customers_and_is_idempotent(runner, client, tmp_path):
    ada = client.post("/api/v1/customers", json={"first_name": "Ada", "email": "ada@example.com",
                                                 "phone": "+44 20 7946 0958"}).json
    bob = client.post("/api/v1/customers", json={"first_name": "Bob"}).json
    path = write_csv(tmp_path, [
        ["customer_id", "customer_email", "customer_phone", "type", "occurred_at", "amount",
         "currency", "summary", "external_id", "payload"],
        [str(bob["id"]), "", "", "purchase", "2024-05-01T10:00:00Z", "19.99", "EUR", "Boiler",
         "order-1", '{"order": 1}'],
        ["", "ADA@example.com", "", "call", "2024-05-02", "", "", "Called back", "call-1", ""],
        ["", "", "+442079460958", "note", "", "", "", "Met at fair", "", ""],
        ["999", "", "", "call", "", "", "", "", "x-1", ""],
        [str(ada["id"]), "", "", "purchase", "", "", "", "", "x-2", ""],
        [str(ada["id"]), "", "", "teleport", "", "", "", "", "x-3", ""],
        ["", "", "", "call", "", "", "", "", "x-4", ""],
    ], name="timeline.csv")
    output = run(runner, "interactions", "import", path)
    assert "3 created, 0 updated, 0 unchanged, 0 skipped, 4 failed" in output
    report = read_report(str(tmp_path / "timeline.errors.csv"))
    assert report[1:] == [
        ["5", "customer_id", "Customer 999 does not exist."],
        ["6", "amount", "A purchase needs an amount."],
        ["6", "currency", "A purchase needs a currency."],
        ["7", "type", report[4][2]],
        ["8", "customer_id", "Give the customer's id, email or phone."],
    ]
    assert report[4][2].startswith("Unknown interaction type")
    timeline = client.get(f"/api/v1/customers/{bob['id']}/interactions").json["items"]
    assert [(i["type"], i["amount"], i["source"], i["external_id"], i["payload"]) for i in
            timeline] == [("purchase", "19.9900", "import", "order-1", {"order": 1})]
    assert client.get(f"/api/v1/customers/{bob['id']}").json["status"] == "active"
    ada_timeline = client.get(f"/api/v1/customers/{ada['id']}/interactions").json["items"]
    assert sorted(i["summary"] for i in ada_timeline) == ["Called back", "Met at fair"]
    assert len(client.get("/api/v1/events", query_string={
        "type": "interaction.recorded"}).json["events"]) == 3

    again = run(runner, "interactions", "import", path)
    assert "1 created, 0 updated, 0 unchanged, 2 skipped, 4 failed" in again  # no external_id
    assert in_db(client.application, lambda: Interaction.select().where(
        Interaction.external_id == "order-1").count()) == 1


def test_problems_are_kept_with_the_job(runner, client, tmp_path):
    path = write_csv(tmp_path, [["first_name", "email"], ["A", "bad"], ["B", "b@example.com"]])
    run(runner, "customers", "import", path)
    job, problems = in_db(client.application, lambda: (
        ImportJob.get(), [(p.row, p.column, p.message) for p in ImportProblem.select()]))
    assert (job.state, job.rows_done, job.rows_created, job.rows_failed) == ("done", 2, 1, 1)
    assert problems == [(2, "email", "Not a valid email address.")]
    assert json.loads(job.mapping) == {}
    assert in_db(client.application, lambda: CustomerPhone.select().count()) == 0


def test_a_job_another_run_is_busy_with_is_refused_until_that_run_goes_quiet(runner, client,
                                                                              tmp_path):
    import datetime as dt

    from crmkit.db import utcnow, write_transaction
    from crmkit.imports.runner import STALE_AFTER, create_job
    path = write_csv(tmp_path, [["first_name"], ["Ada"], ["Bob"]])

    def busy_job():
        with write_transaction():
            job = create_job("customers", path)
            ImportJob.update(state="running", heartbeat_at=utcnow()).where(
                ImportJob.id == job.id).execute()
        return job.id

    job_id = in_db(client.application, busy_job)
    output = run(runner, "customers", "import", "--resume", str(job_id), exit_code=1)
    assert f"Import {job_id} is being run elsewhere (last progress 0 s ago)" in output
    assert records(client) == []

    def gone_quiet():
        with write_transaction():
            ImportJob.update(heartbeat_at=utcnow() - STALE_AFTER - dt.timedelta(seconds=1)).where(
                ImportJob.id == job_id).execute()

    in_db(client.application, gone_quiet)
    assert "2 created" in run(runner, "customers", "import", "--resume", str(job_id))
    assert [c["name"] for c in records(client)] == ["Ada", "Bob"]


def test_a_row_whose_only_cells_are_bad_is_reported_not_passed_over(runner, client, tmp_path):
    path = write_csv(tmp_path, [["first_name", "owner_id", "company_id"],
                                ["", "abc", ""], ["", "", "x1"], ["Ada", "", ""], ["", "", ""]])
    report = tmp_path / "report.csv"
    output = run(runner, "customers", "import", path, "--report", str(report))
    assert "1 created" in output and "2 failed" in output
    problems = read_report(report)[1:]
    assert ["2", "owner_id", "Not a whole number below 2^31."] in problems
    assert ["3", "company_id", "Not a whole number below 2^31."] in problems
    assert {p[0] for p in problems} == {"2", "3"}
