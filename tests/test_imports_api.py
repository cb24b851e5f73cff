"""Imports over HTTP: upload, the job the worker runs, polling, the error report, refusals."""
import csv
import io
import os

import pytest

from crmkit.customers.models import Customer
from crmkit.db import connection
from crmkit.imports.models import ImportJob
from crmkit.worker.models import Job
from crmkit.worker.testing import run_due


@pytest.fixture
def crmkit_config(crmkit_database_url, tmp_path):
    # Uploads land in the test's own directory on both engines.
    return {"DATABASE_URL": crmkit_database_url, "IMPORTS_DIR": str(tmp_path / "uploads")}


def csv_bytes(rows, encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, data: bytes, filename="people.csv", mimetype="text/csv", **form):
    form = {k: v for k, v in form.items()}
    form["file"] = (io.BytesIO(data), filename, mimetype)
    return client.post("/api/v1/imports", data=form, content_type="multipart/form-data")


PEOPLE = [["first_name", "email", "tags"], ["Ada", "ada@example.com", "vip|new"],
          ["Bob", "bad-email", ""], ["Cy", "cy@example.com", ""]]


def test_upload_queues_a_job_the_worker_runs_and_the_caller_polls(app, client):
    response = upload(client, csv_bytes(PEOPLE))
    assert response.status_code == 202, response.json
    job = response.json
    assert response.headers["Location"].endswith(f"/api/v1/imports/{job['id']}")
    assert (job["state"], job["kind"], job["rows_total"], job["rows_done"]) == (
        "pending", "customers", 3, 0)
    with app.app_context(), connection():
        assert Job.get().task == "crmkit.imports.run"
        stored = ImportJob.get_by_id(job["id"]).path
    assert os.path.dirname(stored) == app.config["CRMKIT_IMPORTS_DIR"]
    assert os.path.exists(stored)

    run_due(app)

    polled = client.get(f"/api/v1/imports/{job['id']}").json
    assert (polled["state"], polled["rows_done"], polled["rows_created"],
            polled["rows_failed"]) == ("done", 3, 2, 1)
    assert polled["common_problems"] == [
        {"column": "email", "message": "Not a valid email address.", "rows": 1}]
    errors = client.get(polled["errors_url"])
    assert errors.status_code == 200 and errors.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(errors.get_data(as_text=True)))) == [
        ["row", "column", "message"], ["3", "email", "Not a valid email address."]]
    names = [c["name"] for c in client.get("/api/v1/customers").json["items"]]
    assert names == ["Ada", "Cy"]
    assert not os.path.exists(stored)  # the uploaded copy goes once imported
    listed = client.get("/api/v1/imports").json
    assert [j["id"] for j in listed["items"]] == [job["id"]]


def test_upload_takes_mapping_options_and_dry_runs(app, client):
    data = csv_bytes([["Vorname", "E-Mail", "Notiz"], ["Ada", "ada@example.com", "x"]])
    refused = upload(client, data)
    assert refused.status_code == 422
    assert any("Column 'Vorname' is not a customer field" in m
               for m in refused.json["errors"]["form"]["mapping"])
    dry = upload(client, data, mapping='{"Vorname": "first_name", "Notiz": ""}',
                 map=["E-Mail=email"], dry_run="true")
    assert dry.status_code == 202, dry.json
    run_due(app)
    polled = client.get(f"/api/v1/imports/{dry.json['id']}").json
    assert (polled["state"], polled["dry_run"], polled["rows_created"]) == ("done", True, 1)
    assert client.get("/api/v1/customers").json["items"] == []


@pytest.mark.parametrize("data, filename, mimetype, status, field, message", [
    (csv_bytes([["first_name", "city"], ["José", "Zürich"]], "cp1252"), "p.csv", "text/csv",
     422, "encoding", "is not UTF-8 text: line 2"),
    (csv_bytes([["Ada", "ada@example.com"]]), "p.csv", "text/csv", 422, "file",
     "does not look like a header"),
    (b"", "p.csv", "text/csv", 422, "file", "The file is empty"),
    (b"PK\x03\x04\x00\x00", "p.csv", "text/csv", 422, "file", "not a CSV text file"),
    (b"PK\x03\x04", "people.xlsx", "application/vnd.openxmlformats-officedocument."
     "spreadsheetml.sheet", 415, None, "Send a CSV file"),
])
def test_bad_files_are_refused_at_once_and_leave_nothing(app, client, data, filename, mimetype,
                                                         status, field, message):
    response = upload(client, data, filename=filename, mimetype=mimetype)
    assert response.status_code == status, response.json
    if field:
        assert message in " ".join(response.json["errors"]["form"][field])
    else:
        assert message in response.json["message"]
    with app.app_context(), connection():
        assert ImportJob.select().count() == 0 and Job.select().count() == 0
    uploads = app.config["CRMKIT_IMPORTS_DIR"]
    assert not os.path.exists(uploads) or os.listdir(uploads) == []


def test_missing_file_and_bad_options_are_422(client):
    assert client.post("/api/v1/imports", data={}, content_type="multipart/form-data"
                       ).status_code == 422
    response = upload(client, csv_bytes(PEOPLE), on_duplicate="merge")
    assert response.status_code == 422
    assert "on_duplicate" in response.json["errors"]["form"]


def test_files_over_the_limit_are_413(make_app):
    app = make_app(MAX_IMPORT_BYTES=100)
    response = upload(app.test_client(), csv_bytes(PEOPLE * 10))
    assert response.status_code == 413


def test_imports_need_the_import_permission(make_client, anon_client):
    agent = make_client("agent")
    assert upload(agent, csv_bytes(PEOPLE)).status_code == 403
    assert agent.get("/api/v1/imports").status_code == 403
    assert anon_client.get("/api/v1/imports/1").status_code == 401
    admin = make_client("admin")
    assert admin.get("/api/v1/imports/12345").status_code == 404


def test_interactions_upload(app, client):
    ada = client.post("/api/v1/customers", json={"first_name": "Ada",
                                                 "email": "ada@example.com"}).json
    data = csv_bytes([["customer_email", "type", "summary", "external_id"],
                      ["ada@example.com", "call", "Hello", "c-1"]])
    response = upload(client, data, kind="interactions")
    assert response.status_code == 202, response.json
    run_due(app)
    assert client.get(f"/api/v1/imports/{response.json['id']}").json["rows_created"] == 1
    timeline = client.get(f"/api/v1/customers/{ada['id']}/interactions").json["items"]
    assert [(i["summary"], i["source"]) for i in timeline] == [("Hello", "import")]


def test_a_job_whose_file_vanished_fails_with_the_reason(app, client):
    response = upload(client, csv_bytes(PEOPLE))
    with app.app_context(), connection():
        os.remove(ImportJob.get_by_id(response.json["id"]).path)
    run_due(app)
    polled = client.get(f"/api/v1/imports/{response.json['id']}").json
    assert polled["state"] == "failed" and "cannot be read" in polled["error"]
    with app.app_context(), connection():
        assert Customer.select().count() == 0


def test_a_worker_run_waits_for_a_busy_run_instead_of_importing_twice(app, client, monkeypatch):
    from crmkit.db import utcnow, write_transaction
    from crmkit.imports import runner
    job_id = upload(client, csv_bytes(PEOPLE)).json["id"]
    naps = []

    def the_other_run_finishes(seconds):
        naps.append(seconds)
        with write_transaction():
            ImportJob.update(state="done", rows_done=3).where(ImportJob.id == job_id).execute()

    monkeypatch.setattr(runner.time, "sleep", the_other_run_finishes)
    with app.app_context(), connection():
        with write_transaction():
            ImportJob.update(state="running", heartbeat_at=utcnow()).where(
                ImportJob.id == job_id).execute()
        ended = runner.run_job(job_id, wait=True)
        assert (ended.state, len(naps), Customer.select().count()) == ("done", 1, 0)


def test_an_upload_needs_a_role_that_sees_every_customer(make_client):
    """Rows are matched against all customers and matched ones updated: a manager (their
    teams' customers only) could reach others' customers through a file."""
    manager = make_client("manager")
    refused = upload(manager, csv_bytes(PEOPLE))
    assert refused.status_code == 403
    assert "scope all" in refused.json["message"]


def test_an_upload_runs_with_its_uploaders_rights(app, make_user, make_client):
    from crmkit.auth import roles

    def add_role():
        known = ["customers:read", "customers:write", "customers:import"]
        roles.create_role("importer", known, known, "all")  # no customers:reassign

    from crmkit.testing import _in_app
    _in_app(app, add_role)
    importer = make_client("importer")
    colleague = make_user("agent")
    admin = make_client("admin")
    taken = admin.post("/api/v1/customers", json={"first_name": "Old", "email": "old@example.com",
                                                  "owner_id": colleague.id})
    assert taken.status_code == 201, taken.json
    rows = [["first_name", "email", "owner_id"],
            ["Mine", "mine@example.com", str(importer.user.id)],
            ["Given", "given@example.com", str(colleague.id)],        # to another user: no
            ["Taken", "old@example.com", str(importer.user.id)],     # take it over: no
            ["Nobody", "nobody@example.com", ""]]
    job = upload(importer, csv_bytes(rows), on_duplicate="update").json
    run_due(app)
    polled = importer.get(f"/api/v1/imports/{job['id']}").json
    assert (polled["state"], polled["rows_created"], polled["rows_updated"],
            polled["rows_failed"]) == ("done", 2, 0, 2), polled
    report = list(csv.reader(io.StringIO(importer.get(polled["errors_url"]).get_data(
        as_text=True))))
    # Row 4 is refused by the update's own check, which names the field in its message.
    assert [r[:2] for r in report[1:]] == [["3", "owner_id"], ["4", ""]]
    assert all("customers:reassign" in r[2] for r in report[1:])
    with app.app_context(), connection():
        owners = dict(Customer.select(Customer.first_name, Customer.owner_id).tuples())
    assert owners == {"Old": colleague.id, "Mine": importer.user.id, "Nobody": None}


def test_an_admins_upload_naming_an_owner_who_is_not_a_user_fails_that_row(app, make_client):
    admin = make_client("admin")
    rows = [["first_name", "owner_id"], ["Ghost", "999"], ["Real", str(admin.user.id)]]
    job = upload(admin, csv_bytes(rows)).json
    run_due(app)
    polled = admin.get(f"/api/v1/imports/{job['id']}").json
    assert (polled["rows_created"], polled["rows_failed"]) == (1, 1), polled
    report = admin.get(polled["errors_url"]).get_data(as_text=True)
    assert "No active user with id 999." in report


def test_a_job_whose_uploader_was_deactivated_fails_without_importing(app, make_client):
    from crmkit.auth.models import User
    admin = make_client("admin")
    job = upload(admin, csv_bytes(PEOPLE)).json
    with app.app_context(), connection():
        User.update(active=False).where(User.id == admin.user.id).execute()
        run_due(app)
        stored = ImportJob.get_by_id(job["id"])
        assert (stored.state, Customer.select().count()) == ("failed", 0)
        assert "no longer active" in stored.error
