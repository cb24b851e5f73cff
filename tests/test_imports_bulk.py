"""How a bulk customer import goes fast without changing what it stores: events built by the
database, rows read and checked in a worker process, and quicker checks that give the answers of
the API's own. (What an import does is in test_customers_import.py, run both ways.)"""
import csv
import os
import sqlite3
import tempfile
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.customers import schemas
from crmkit.customers.models import Customer, CustomerEmail, CustomerPhone
from crmkit.customers.service import Lookups, check_new_customer, create_customer
from crmkit.db import connection, write_transaction
from crmkit.errors import ValidationError
from crmkit.events import Event
from crmkit.imports import customers as customer_import
from crmkit.imports.base import CellChecks
from crmkit.imports.csvfile import layout_of
from crmkit.imports.models import ImportJob, ImportProblem
from crmkit.imports.runner import create_job, run_job
from crmkit.testing import _is_postgres, configured_test_database

# Text that JSON has to escape one way or another, and text it must leave alone.
AWKWARD = ['Ada "the Countess" \\ Lovelace', "tab\there", "bell\x07 and \x1f", "Zoë Ünal",
           "李小龙 😀", "line\u2028separator", "</script>", "O'Brien"]


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path)


def import_file(app, path, batch_size=3, **options):
    with app.app_context(), connection():
        with write_transaction():
            job = create_job("customers", path, **options)
        return run_job(job.id, batch_size=batch_size)


@pytest.fixture
def crmkit_config(crmkit_database_url):
    return {"DATABASE_URL": crmkit_database_url, "IMPORT_WORKER_MIN_ROWS": 1}


def stored_events(app):
    with app.app_context(), connection():
        return [(e.type, e.schema_version, e.subject, e.subject_id, e.payload, e.uuid)
                for e in Event.select().where(Event.type == "customer.created")
                .order_by(Event.id)]


def test_imported_customers_get_the_events_the_api_writes_byte_for_byte(app, tmp_path):
    people = [{"first_name": name, "last_name": "Smith" if i % 2 else None,
               "email": f"p{i}@example.com" if i % 3 else None,
               "status": "active" if i % 2 else None, "owner_id": 7 if i % 4 == 1 else None,
               "phone": f"+1415555{100 + i:04d}" if i % 3 == 1 else None}
              for i, name in enumerate(AWKWARD)]
    with app.app_context(), connection():
        with write_transaction():
            for person in people:
                create_customer({k: v for k, v in person.items() if v is not None},
                                source="import")
    by_api = stored_events(app)
    header = ["first_name", "last_name", "email", "status", "owner_id", "phone"]
    path = write_csv(tmp_path / "people.csv", [header] + [
        [person[k] if person[k] is not None else "" for k in header] for person in people])
    with app.app_context(), connection():  # the same people again, as new customers
        with write_transaction():
            Event.delete().execute()
            CustomerEmail.delete().execute()
            CustomerPhone.delete().execute()
            Customer.delete().execute()
    job = import_file(app, path)
    assert job.rows_created == len(people), job.error
    by_import = stored_events(app)
    assert len(by_import) == len(by_api) == len(people)
    assert sum('"phone":"+1415555' in e[4] for e in by_import) == 3
    assert sum('"owner_id":7,' in e[4] for e in by_import) == 2
    for api, imported in zip(by_api, by_import):
        # Same type, version and subject; the payload the same text but for the new id.
        old_id, new_id = api[3], imported[3]
        assert imported[:3] == api[:3]
        assert imported[4] == api[4].replace(f'"id":{old_id},', f'"id":{new_id},')
    ids = [e[5] for e in by_import]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, uuid.UUID) and i.version == 7 and i.variant == uuid.RFC_4122
               for i in ids)


@pytest.fixture
def checking_pids(tmp_path, monkeypatch):
    """The ids of the processes that checked rows, as a function to call after an import."""
    seen = tmp_path / "pids"
    original = customer_import.CustomerImporter.precheck

    def precheck(self, item, cells):
        with open(seen, "a") as f:
            f.write(f"{os.getpid()}\n")
        return original(self, item, cells)

    monkeypatch.setattr(customer_import.CustomerImporter, "precheck", precheck)
    return lambda: set(seen.read_text().split())


def seven_people(tmp_path):
    return write_csv(tmp_path / "people.csv", [["first_name", "email"]] + [
        [f"P{i}", f"p{i}@example.com"] for i in range(7)])


def test_large_files_are_read_and_checked_in_a_worker_process(app, tmp_path, checking_pids):
    job = import_file(app, seven_people(tmp_path))
    assert (job.state, job.rows_created) == ("done", 7)
    assert checking_pids() - {str(os.getpid())}, "checked in this process"


def test_an_import_run_by_a_job_worker_thread_reads_in_its_own_process(app, tmp_path,
                                                                       checking_pids):
    """Forking next to other threads could leave the child waiting on a lock one of them held:
    a worker thread's import reads and checks in its own process."""
    import threading
    path, done = seven_people(tmp_path), {}
    thread = threading.Thread(target=lambda: done.update(job=import_file(app, path)))
    thread.start()
    thread.join(60)
    assert (done["job"].state, done["job"].rows_created) == ("done", 7)
    assert checking_pids() == {str(os.getpid())}


@pytest.mark.parametrize("worker_from", [1, 10**9])
def test_an_unreadable_row_keeps_the_rows_before_it_and_fails_the_job(
        make_app, tmp_path, worker_from, monkeypatch):
    from crmkit.imports import csvfile
    monkeypatch.setattr(csvfile, "CELL_LIMIT", 150_000)  # the row below: longer than that
    app = make_app(IMPORT_WORKER_MIN_ROWS=worker_from)
    rows = [["first_name", "email"]] + [[f"P{i}", f"p{i}@example.com"] for i in range(5)]
    rows += [["X" * 200_000, "x@example.com"], ["After", "after@example.com"]]
    path = write_csv(tmp_path / "people.csv", rows)
    job = import_file(app, path)
    assert job.state == "failed" and "Row 7 cannot be read as CSV" in job.error
    with app.app_context(), connection():
        assert (ImportJob.get().rows_done, Customer.select().count()) == (5, 5)


def test_a_failure_while_writing_stops_the_worker_and_the_import_resumes(app, tmp_path,
                                                                        monkeypatch):
    path = write_csv(tmp_path / "people.csv", [["first_name", "email"]] + [
        [f"P{i}", f"p{i}@example.com"] for i in range(9)])
    original = customer_import.CustomerImporter._insert
    calls = []

    def insert_then_fail(self, new):
        calls.append(len(new))
        if len(calls) == 2:
            raise KeyboardInterrupt  # as Ctrl-C would, half-way
        return original(self, new)

    monkeypatch.setattr(customer_import.CustomerImporter, "_insert", insert_then_fail)
    with pytest.raises(KeyboardInterrupt):
        import_file(app, path)
    with app.app_context(), connection():
        assert (ImportJob.get().rows_done, Customer.select().count()) == (3, 3)
        job_id = ImportJob.get().id
    monkeypatch.setattr(customer_import.CustomerImporter, "_insert", original)
    with app.app_context(), connection():
        job = run_job(job_id, batch_size=3)
        assert (job.state, job.rows_created, Customer.select().count()) == ("done", 9, 9)
        assert Event.select().where(Event.type == "customer.created").count() == 9


def test_rows_handed_over_as_files_are_stored_as_the_general_path_stores_them(
        make_app, crmkit_database_url, other_database_url, tmp_path, monkeypatch):
    """On SQLite the worker hands batches of plain new customers over as files
    (crmkit.imports.staging); a batch with a row matching a customer, or with a row that needs
    more than the plain columns, takes the general path. Either way the same rows are stored,
    and no file is left behind."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    rows = [["first_name", "last_name", "email", "city", "status", "notes", "tags"]]
    rows += [[name, "Smith" if i % 2 else "", f"P{i}@Example.com " if i % 3 else "",
              "Köln" if i % 4 else "", "active" if i % 2 else "", AWKWARD[i % 8], ""]
             for i, name in enumerate(AWKWARD * 2)]
    rows[9] = ["Taken", "", "taken@example.com", "", "active", "", ""]  # matches: updated
    rows[13][6] = "vip"  # a tag: not a plain row
    rows[5][2] = "not an email"  # refused
    path = write_csv(tmp_path / "people.csv", rows)
    stored = []
    for url, worker_from in ((crmkit_database_url, 10**9), (other_database_url, 1)):
        app = make_app(DATABASE_URL=url, IMPORT_WORKER_MIN_ROWS=worker_from)
        with app.app_context(), connection():
            with write_transaction():
                create_customer({"name": "Taken", "email": "taken@example.com"})
        job = import_file(app, path, on_duplicate="update")
        with app.app_context(), connection():
            stored.append((
                (job.rows_done, job.rows_created, job.rows_updated, job.rows_failed),
                list(Customer.select(*[f for f in Customer._meta.sorted_fields
                                       if f.name not in ("created_at", "updated_at")])
                     .order_by(Customer.id).tuples()),
                list(CustomerEmail.select().order_by(CustomerEmail.id).tuples()),
                [(e.subject_id, e.type) for e in Event.select().order_by(Event.id)]))
    assert stored[0][0] == (16, 14, 1, 1)
    assert stored[0] == stored[1]
    assert list(scratch.iterdir()) == []


@pytest.mark.skipif(_is_postgres(configured_test_database()),
                    reason="batches are staged as files on SQLite only")
@pytest.mark.parametrize("trouble", ["no temporary directory", "disk full from batch 2"])
def test_an_import_goes_on_unstaged_when_batches_cannot_be_staged(
        make_app, crmkit_database_url, tmp_path, monkeypatch, trouble):
    """Staging only saves the writer work: a temporary directory that cannot be made, or a
    staged file that cannot be written, leaves the rows to go over as they are."""
    if trouble == "no temporary directory":
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    else:
        original = customer_import.CustomerImporter.stage
        calls = []

        def stage(self, items, path):  # runs in the reading process, counted there
            calls.append(path)
            if len(calls) > 1:
                raise sqlite3.OperationalError("database or disk is full")
            return original(self, items, path)

        monkeypatch.setattr(customer_import.CustomerImporter, "stage", stage)
    path = write_csv(tmp_path / "people.csv", [["first_name", "email"]] + [
        [f"P{i}", f"p{i}@example.com"] for i in range(10)])
    app = make_app(DATABASE_URL=crmkit_database_url, IMPORT_WORKER_MIN_ROWS=1)
    job = import_file(app, path)
    assert (job.state, job.rows_created, job.rows_failed, job.error) == ("done", 10, 0, None)
    with app.app_context(), connection():
        assert [c.first_name for c in Customer.select().order_by(Customer.id)] == [
            f"P{i}" for i in range(10)]
        assert Event.select().where(Event.type == "customer.created").count() == 10


@pytest.mark.parametrize("batch_size", [1, 2000])
def test_a_row_matching_a_customer_an_earlier_row_updates_is_looked_up_again(
        app, tmp_path, batch_size):
    """Row 2 updates row 1's customer and gives up its phone; row 3 has that phone. Looked up
    before row 2's update, row 3 matched the same customer and overwrote it (its email gone);
    the answer must not depend on where the batches are cut."""
    path = write_csv(tmp_path / "people.csv", [
        ["first_name", "email", "phone"],
        ["A", "a@example.com", "+44 20 7946 0001"],
        ["A2", "a@example.com", "+44 20 7946 0002"],
        ["B", "b@example.com", "+44 20 7946 0001"]])
    job = import_file(app, path, on_duplicate="update", batch_size=batch_size)
    assert (job.rows_created, job.rows_updated, job.rows_failed) == (2, 1, 0), job.error
    with app.app_context(), connection():
        stored = [(c.first_name, c.email, c.phone) for c in Customer.select().order_by(Customer.id)]
    assert stored == [("A2", "a@example.com", "+442079460002"),
                      ("B", "b@example.com", "+442079460001")]


def test_a_number_no_column_holds_fails_its_row_and_the_rest_go_in(app, tmp_path):
    """An owner_id of 20 digits once crashed a staged batch (and every resume of the job)."""
    path = write_csv(tmp_path / "people.csv", [["first_name", "email", "owner_id"]] + [
        [f"P{i}", f"p{i}@example.com", "99999999999999999999" if i == 4 else ""]
        for i in range(8)])
    job = import_file(app, path)
    assert (job.state, job.rows_created, job.rows_failed) == ("done", 7, 1), job.error
    with app.app_context(), connection():
        [problem] = list(ImportProblem.select().where(ImportProblem.job == job.id))
        assert (problem.row, problem.column, problem.message) == (
            6, "owner_id", "Not a whole number below 2^31.")


def test_a_cell_longer_than_the_csv_modules_limit_fails_only_its_row(app, tmp_path):
    path = write_csv(tmp_path / "people.csv", [["first_name", "notes"], ["A", "fine"],
                                               ["B", "x" * 140_000], ["C", "fine"]])
    job = import_file(app, path)
    assert (job.state, job.rows_created, job.rows_failed) == ("done", 2, 1), job.error
    with app.app_context(), connection():
        [problem] = list(ImportProblem.select().where(ImportProblem.job == job.id))
        assert (problem.row, problem.column) == (3, "notes")
        assert "Longer than maximum length" in problem.message


# -- quicker checks, same answers -----------------------------------------------------------

PLAIN = ["kind", "name", "first_name", "last_name", "email", "city", "country", "status",
         "notes", "owner_id", "tags"]
cells = st.one_of(st.sampled_from(["", " ", "person", "company", "Company", "active", "churned",
                                   "x@y.z", "Ada@Example.COM ", "a@b", "not an email", "de",
                                   "GB", "Germany", "12", "-3", "vip|news", "x" * 151,
                                   "x" * 301, "a" * 310 + "@example.com"]),
                  st.text(max_size=12))


@pytest.fixture
def importer(app, tmp_path):
    path = write_csv(tmp_path / "plain.csv", [PLAIN])
    with app.app_context(), connection():
        layout = layout_of(path, {}, customer_import.field_set())
        yield customer_import.CustomerImporter(1, layout, "update", False)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.lists(cells, min_size=len(PLAIN), max_size=len(PLAIN)))
def test_plain_rows_are_checked_as_check_new_customer_checks_them(importer, row):
    item = importer.prepare(2, row)
    if item is None or item.extra["problems"]:
        return
    quick = importer._plain(item.data)
    try:
        full = check_new_customer(item.data, Lookups(custom_fields={}))
    except ValidationError:
        assert quick is None
        return
    if quick is not None:
        assert quick == full
        assert importer._values(item.data, quick) == importer._values(item.data, full)


CHECKS = CellChecks(schemas.CustomerIn())


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(set(CHECKS.checks) | set(CHECKS.item_checks))),
       data=st.data())
def test_quick_cell_tests_pass_exactly_what_the_validators_pass(name, data):
    # As the importer hands them over: lists for list fields, text for the others.
    value = data.draw(st.lists(cells, max_size=25) if name in CHECKS.item_checks else cells)
    problems: dict = {}
    CHECKS.check(name, value, problems)
    assert CHECKS.passes(name)(value) == (not problems)
