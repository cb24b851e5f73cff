"""Migrations per plugin: own history tables, fresh databases, upgrades, and no drift."""
from pathlib import Path

import pytest
from playhouse.migrations import Runner

from crmkit.db import connection, database
from crmkit.schema import KERNEL_MIGRATIONS, drift, history_table, upgrade
from crmkit.testing import assert_migrations_build_the_models


# Every kernel feature adds its own script; count them rather than pin the number here.
KERNEL_SCRIPTS = sorted(p.stem for p in Path(KERNEL_MIGRATIONS).glob("[0-9]*.py"))


def history(plugin):
    with connection():
        return [row[0] for row in database.execute_sql(
            f"SELECT name FROM {history_table(plugin)} ORDER BY name").fetchall()]


def test_fresh_database_creates_tables_and_marks_migrations_applied(notes_plugin, make_app,
                                                                   runner):
    make_app(upgrade=False)
    result = runner.invoke("db upgrade")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"crmkit: created tables ({len(KERNEL_SCRIPTS)} migration(s) marked applied)",
        "notes: created tables (2 migration(s) marked applied)",
    ]
    assert history("crmkit") == KERNEL_SCRIPTS
    assert history("notes") == ["0001_initial", "0002_add_pinned"]
    assert runner.invoke("db upgrade").output.splitlines() == [
        "crmkit: up to date", "notes: up to date"]
    assert runner.invoke("db status").exit_code == 0


def test_existing_database_gets_only_the_pending_migration(notes_plugin, make_app, runner):
    app = make_app(upgrade=False)
    pm = app.extensions["crmkit"].pm
    upgrade(pm, only="crmkit")
    notes_dir = pm.infos["notes"].obj.__path__[0] + "/migrations"
    with connection():
        Runner(database.obj, notes_dir, table_name="migrations_notes").up("0001_initial")
        database.execute_sql("INSERT INTO notes_note (customer_ref, body, created_at) "
                             "VALUES (1, 'written before 0002', '2026-01-01 00:00:00')")

    status = runner.invoke("db status")
    assert status.exit_code == 1
    assert "notes: 0002_add_pinned pending" in status.output

    result = runner.invoke("db upgrade")
    assert result.exit_code == 0, result.output
    assert "notes: applied 0002_add_pinned" in result.output
    from crmkit_notes.models import Note
    with connection():
        note = Note.get()
    assert (note.body, note.pinned) == ("written before 0002", False)
    assert drift(pm) == {}


def test_each_plugin_keeps_its_own_history_table(notes_plugin, make_app):
    make_app()
    with connection():
        tables = set(database.get_tables())
    assert {"migrations_crmkit", "migrations_notes"} <= tables


def test_migration_scripts_build_exactly_the_models(notes_plugin, make_app):
    """Kernel and notes, from scratch, on whichever engine the suite runs on (SQLite or
    PostgreSQL through CRMKIT_TEST_DATABASE_URL)."""
    assert_migrations_build_the_models(make_app(upgrade=False))
    assert history("notes") == ["0001_initial", "0002_add_pinned"]


def test_drift_is_reported_when_models_and_database_disagree(notes_plugin, make_app):
    app = make_app(upgrade=False)
    pm = app.extensions["crmkit"].pm
    upgrade(pm, from_scratch=True)
    with connection():
        database.execute_sql("ALTER TABLE notes_note DROP COLUMN pinned")
    assert "pinned" in drift(pm)["notes"]
    with pytest.raises(AssertionError, match="migrations and models disagree"):
        assert_migrations_build_the_models(app)


def test_upgrade_only_one_plugin_and_unknown_plugin(notes_plugin, make_app, runner):
    make_app(upgrade=False)
    result = runner.invoke("db upgrade --plugin crmkit")
    assert result.output.splitlines() == [
        f"crmkit: created tables ({len(KERNEL_SCRIPTS)} migration(s) marked applied)"]
    result = runner.invoke("db upgrade --plugin nope")
    assert result.exit_code == 2
    assert "'nope' is not an active plugin (active: crmkit, notes)" in result.output
