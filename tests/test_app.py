"""The app factory: settings, database set-up, request lifecycle, errors, docs and health."""
import peewee
import pytest

from crmkit import create_app
from crmkit import db as crmkit_db
from crmkit.config import ConfigError, load_config


def test_settings_come_from_env_then_mapping():
    env = {"CRMKIT_DATABASE_URL": "sqlite:///from-env.db", "CRMKIT_MAX_PAGE_SIZE": "50",
           "OTHER": "ignored"}
    config = load_config(None, environ=env)
    assert config["DATABASE_URL"] == "sqlite:///from-env.db"
    assert config["MAX_PAGE_SIZE"] == 50
    assert "OTHER" not in config
    config = load_config({"CRMKIT_DATABASE_URL": "sqlite:///mapped.db", "MAX_PAGE_SIZE": 10},
                         environ=env)
    assert (config["DATABASE_URL"], config["MAX_PAGE_SIZE"]) == ("sqlite:///mapped.db", 10)


def test_default_database_is_crmkit_db_in_working_directory():
    assert load_config(None, environ={})["DATABASE_URL"] == "sqlite:///crmkit.db"


def test_bad_setting_is_a_clear_error():
    with pytest.raises(ConfigError, match="CRMKIT_MAX_PAGE_SIZE must be a whole number, got 'lots'"):
        load_config(None, environ={"CRMKIT_MAX_PAGE_SIZE": "lots"})
    with pytest.raises(ValueError, match="unsupported database URL 'mysql://x'"):
        create_app({"DATABASE_URL": "mysql://x"})


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path):
    create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SQLITE_BUSY_TIMEOUT_MS": 1234})
    with crmkit_db.connection() as database:
        assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 1234


def test_postgresql_goes_through_psycopg3(app):
    if crmkit_db.is_sqlite():
        pytest.skip("runs when CRMKIT_TEST_DATABASE_URL names a PostgreSQL server")
    import psycopg
    with crmkit_db.connection() as database:
        assert isinstance(database.connection(), psycopg.Connection)


def test_one_connection_per_request_closed_on_teardown(client):
    assert client.get("/api/v1/plugins").status_code == 200
    assert crmkit_db.database.is_closed()
    assert client.post("/api/v1/plugins").status_code == 405
    assert crmkit_db.database.is_closed()


@pytest.fixture
def notes_client(make_app, notes_plugin):
    return make_app().test_client()


def stored_notes(client):
    return [n["body"] for n in client.get("/api/v1/notes/notes").json]


def test_request_is_one_transaction_committed_on_success(notes_client):
    assert notes_client.post("/api/v1/notes/notes",
                             json={"customer_ref": 1, "body": "kept"}).status_code == 201
    assert stored_notes(notes_client) == ["kept"]


def test_error_answer_rolls_back_what_the_request_wrote(notes_client):
    notes_client.post("/api/v1/notes/notes", json={"customer_ref": 1, "body": "kept"})
    response = notes_client.post("/api/v1/notes/notes",
                                 json={"customer_ref": 1, "body": "refuse-after-write"})
    assert response.status_code == 422
    assert response.json == {
        "code": 422, "status": "Unprocessable Entity", "message": "Invalid input.",
        "errors": {"json": {"body": ["refused after the row was written"]}}}
    assert stored_notes(notes_client) == ["kept"]


def test_unexpected_exception_is_a_json_500_and_stores_nothing(notes_client):
    response = notes_client.post("/api/v1/notes/notes",
                                 json={"customer_ref": 1, "body": "crash-after-write"})
    assert response.status_code == 500
    assert response.json == {"code": 500, "status": "Internal Server Error",
                             "message": "Internal server error."}
    assert stored_notes(notes_client) == []


def test_bad_input_is_422_with_field_messages(notes_client):
    response = notes_client.post("/api/v1/notes/notes", json={"customer_ref": "seven"})
    assert response.status_code == 422
    assert response.json["message"] == "Invalid input."
    assert response.json["errors"]["json"] == {
        "customer_ref": ["Not a valid integer."], "body": ["Missing data for required field."]}
    response = notes_client.post("/api/v1/notes/notes", data="{not json",
                                 content_type="application/json")
    assert response.status_code == 400
    assert set(response.json) >= {"code", "status", "message"}


@pytest.mark.parametrize("method, path, code", [
    ("get", "/api/v1/nothing-here", 404),
    ("delete", "/api/v1/plugins", 405),
])
def test_every_error_has_the_same_json_shape(client, method, path, code):
    response = getattr(client, method)(path)
    assert response.status_code == code
    assert response.is_json
    assert response.json["code"] == code
    assert isinstance(response.json["message"], str) and response.json["message"]


def test_openapi_document_lists_kernel_and_plugin_routes(notes_client):
    spec = notes_client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/plugins", "/api/v1/notes/notes"} <= set(spec["paths"])
    assert "Error" in spec["components"]["schemas"]


def test_interactive_docs_are_served_from_the_installed_package(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/docs/static/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    asset = client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_healthz_reports_database_and_enabled_plugins(notes_client):
    response = notes_client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"]["ok"] is True
    assert response.json["plugins"] == ["crmkit", "notes"]


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert "unable to open database file" in response.json["database"]["error"]


def test_lost_database_on_a_write_is_503_not_500(tmp_path, notes_plugin):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"})
    response = app.test_client().post("/api/v1/notes/notes", json={"customer_ref": 1, "body": "x"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_utc_datetimes_round_trip_aware(db):
    import datetime as dt

    class Stamp(crmkit_db.BaseModel):
        at = crmkit_db.UTCDateTimeField()

        class Meta:
            table_name = "test_stamp"

    db.create_tables([Stamp])
    paris = dt.timezone(dt.timedelta(hours=1))
    Stamp.create(at=dt.datetime(2026, 1, 1, 12, 0, tzinfo=paris))
    stored = Stamp.get().at
    assert stored == dt.datetime(2026, 1, 1, 11, 0, tzinfo=dt.timezone.utc)
    assert stored.tzinfo is not None
    assert Stamp.select().where(
        Stamp.at > dt.datetime(2026, 1, 1, 10, 59, tzinfo=dt.timezone.utc)).count() == 1
    assert isinstance(db, peewee.DatabaseProxy)
