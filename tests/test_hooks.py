"""One test per hookspec: ``tests/test_docs.py`` fails when a hook has no ``test_hook_<name>``."""
from types import SimpleNamespace

import pytest

from crmkit import Manifest, hookimpl
from crmkit.db import write_transaction
from crmkit.hooks import hookspec
from crmkit.profile_sections import erase_personal_data, personal_data, profile_sections
from crmkit.registry import collect_jobs, collect_permissions


@pytest.fixture
def notes_app(make_app, notes_plugin):
    return make_app()


def add_note(app, customer_ref, body, pinned=False):
    response = app.test_client().post(
        "/api/v1/notes/notes", json={"customer_ref": customer_ref, "body": body, "pinned": pinned})
    assert response.status_code == 201, response.json
    return response.json


class GreetingSpecs:
    @hookspec(firstresult=True)
    def greeting(self, who):
        """A plugin-defined hook."""


class Greeter:
    manifest = Manifest(name="greeter")

    @hookimpl
    def add_hookspecs(self, pm):
        pm.add_hookspecs(GreetingSpecs)


class Polite:
    manifest = Manifest(name="polite", requires=("greeter",))

    @hookimpl
    def greeting(self, who):
        return f"Good morning, {who}"


def test_hook_add_hookspecs(make_app):
    app = make_app(plugins=[Polite(), Greeter()])  # order given does not matter
    pm = app.extensions["crmkit"].pm
    assert pm.active_names() == ["crmkit", "greeter", "polite"]
    assert pm.hook.greeting(who="Ada") == "Good morning, Ada"


def test_hook_add_hookspecs_without_requiring_the_spec_owner_is_an_error(make_app):
    class Rude:
        manifest = Manifest(name="rude")

        @hookimpl
        def greeting(self, who):
            return "hey"

    from crmkit import PluginError
    with pytest.raises(PluginError, match="plugin .rude.: implements hook.s. .greeting. of plugin .greeter. without"):
        make_app(plugins=[Greeter(), Rude()])


def test_hook_register_models(notes_app, db):
    from crmkit_notes.models import Note
    assert notes_app.extensions["crmkit"].models["notes"] == [Note]
    assert Note.table_exists()
    Note.create(customer_ref=1, body="hello")
    assert Note.select().count() == 1


def test_hook_register_blueprints(notes_app):
    client = notes_app.test_client()
    add_note(notes_app, 3, "call back on Monday")
    assert [n["body"] for n in client.get("/api/v1/notes/notes").json] == ["call back on Monday"]
    assert "/api/v1/notes/notes" in client.get("/openapi.json").json["paths"]


def test_hook_register_commands(notes_app, runner):
    add_note(notes_app, 3, "one")
    result = runner.invoke("notes count")
    assert result.exit_code == 0, result.output
    assert result.output == "1 notes\n"
    assert "notes" in runner.invoke("--help").output


def test_hook_register_permissions(notes_app):
    perms = collect_permissions(notes_app.extensions["crmkit"].pm)
    assert ("notes", "notes:write") in [(plugin, p.name) for plugin, p in perms]
    assert ("crmkit", "plugins:read") in [(plugin, p.name) for plugin, p in perms]


def test_hook_register_permissions_rejects_a_name_declared_twice(make_app, notes_plugin):
    from crmkit import Permission, PluginError

    class Copycat:
        manifest = Manifest(name="copycat")

        @hookimpl
        def register_permissions(self):
            return [Permission("notes:read")]

    app = make_app(plugins=[Copycat()])
    with pytest.raises(PluginError, match="'notes:read' is declared by both 'copycat' and 'notes'"):
        collect_permissions(app.extensions["crmkit"].pm)


def test_hook_register_jobs(notes_app, runner):
    # The kernel's own jobs (purging idempotency keys ...) come first; this is about notes'.
    jobs = [(plugin, job) for plugin, job in collect_jobs(notes_app.extensions["crmkit"].pm)
            if plugin != "crmkit"]
    assert [(plugin, job.name, job.cron["hour"]) for plugin, job in jobs] == [
        ("notes", "purge-old-notes", "3")]
    assert jobs[0][1].func() == "purged"
    listed = [line.split() for line in runner.invoke("jobs list").output.splitlines()]
    assert ["notes", "purge-old-notes", "0", "3", "*", "*", "*"] in listed


def test_hook_customer_profile_section(notes_app):
    add_note(notes_app, 7, "VIP", pinned=True)
    add_note(notes_app, 7, "likes email")
    add_note(notes_app, 8, "someone else")
    with notes_app.app_context():
        sections = profile_sections(SimpleNamespace(id=7))
    assert sections == {"notes": {"count": 2, "pinned": ["VIP"]}}


def test_hook_export_personal_data(notes_app):
    add_note(notes_app, 7, "likes email")
    with notes_app.app_context():
        assert personal_data(SimpleNamespace(id=7)) == {"notes": {"notes": ["likes email"]}}


def test_hook_erase_personal_data(notes_app, db):
    from crmkit_notes.models import Note
    add_note(notes_app, 7, "lives at 1 Main St")
    add_note(notes_app, 8, "keep me")
    with write_transaction():
        assert "notes" in erase_personal_data(SimpleNamespace(id=7), "anon-1")
    assert sorted(n.body for n in Note.select()) == ["[erased anon-1]", "keep me"]


def test_hook_load_demo_data(notes_plugin, runner):
    result = runner.invoke("demo --size 5")
    assert result.exit_code == 0, result.output
    assert "notes: demo data loaded" in result.output
    assert runner.invoke("notes count").output == "5 notes\n"


def test_hook_load_demo_data_only_into_an_empty_database(notes_plugin, runner):
    assert runner.invoke("demo --size 3").exit_code == 0
    again = runner.invoke("demo --size 3")
    assert again.exit_code == 1
    assert "already holds data" in again.output
    assert runner.invoke("demo --if-empty").exit_code == 0
    assert runner.invoke("notes count").output == "3 notes\n"
