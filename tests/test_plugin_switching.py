"""Enable/disable per installation: CLI, the read-only API list, and what "disabled" means."""
import json

from crmkit.registry import collect_jobs, collect_permissions


def test_plugins_list_shows_name_version_enabled_state_requires_hooks(notes_plugin, runner):
    result = runner.invoke("plugins list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "version", "enabled", "state", "requires", "hooks"]
    notes = next(line for line in lines if line.startswith("notes"))
    assert notes.split()[:5] == ["notes", "1.0", "yes", "active", "-"]
    assert "register_blueprints" in notes and "load_demo_data" in notes


def test_plugins_list_json(notes_plugin, runner):
    listed = json.loads(runner.invoke("plugins list --json").output)
    assert [p["name"] for p in listed] == ["crmkit", "notes"]
    assert listed[1]["enabled"] is True and listed[1]["state"] == "active"


def test_api_lists_plugins_read_only(notes_plugin, make_app):
    client = make_app().test_client()
    listed = client.get("/api/v1/plugins").json
    assert {p["name"]: p["state"] for p in listed} == {"crmkit": "active", "notes": "active"}
    assert client.post("/api/v1/plugins", json={"name": "notes"}).status_code == 405


def test_disable_removes_routes_commands_jobs_and_hooks_but_keeps_data(notes_plugin, make_app,
                                                                      runner):
    client = make_app().test_client()
    assert client.post("/api/v1/notes/notes",
                       json={"customer_ref": 1, "body": "keep me"}).status_code == 201

    result = runner.invoke("plugins disable notes")
    assert result.exit_code == 0, result.output
    assert "notes: disabled" in result.output

    app = make_app()
    pm = app.extensions["crmkit"].pm
    client = app.test_client()
    assert client.get("/api/v1/notes/notes").status_code == 404
    assert "/api/v1/notes/notes" not in client.get("/openapi.json").json["paths"]
    assert client.get("/healthz").json["plugins"] == ["crmkit"]
    assert {p["name"]: p["state"] for p in client.get("/api/v1/plugins").json}["notes"] == "disabled"
    assert "notes" not in [plugin for plugin, _ in collect_jobs(pm)]
    assert "notes" not in [plugin for plugin, _ in collect_permissions(pm)]
    assert pm.hook.export_personal_data.get_hookimpls() == []
    help_text = runner.invoke("--help").output
    assert "notes" not in help_text
    assert runner.invoke("notes count").exit_code == 2  # no such command

    result = runner.invoke("plugins enable notes")
    assert result.exit_code == 0 and "notes: enabled" in result.output
    client = make_app().test_client()
    assert [n["body"] for n in client.get("/api/v1/notes/notes").json] == ["keep me"]
    assert runner.invoke("notes count").output == "1 notes\n"


def test_crmkit_plugins_env_overrides_the_stored_choice(notes_plugin, make_app, runner):
    runner.invoke("plugins disable notes")
    app = make_app(PLUGINS="notes")
    assert "notes" in app.extensions["crmkit"].pm.active_names()
    app = make_app(PLUGINS="")
    assert app.extensions["crmkit"].pm.active_names() == ["crmkit"]
    result = runner.invoke("plugins enable notes", env={"PLUGINS": ""})
    assert "CRMKIT_PLUGINS is set and overrides the stored choice" in result.output


def test_disabling_a_requirement_warns_about_dependants(install_dist, runner):
    install_dist("base", "from crmkit import Manifest\nmanifest = Manifest(name='base')\n")
    install_dist("addon", "from crmkit import Manifest\n"
                          "manifest = Manifest(name='addon', requires=('base',))\n")
    result = runner.invoke("plugins disable base")
    assert result.exit_code == 0
    assert "these require it and become inactive too: addon" in result.output
    listed = {p["name"]: p for p in json.loads(runner.invoke("plugins list --json").output)}
    assert listed["addon"]["state"] == "dropped"
    assert listed["addon"]["reason"] == "requires 'base', which is disabled"


def test_unknown_plugin_and_kernel_are_clear_cli_errors(notes_plugin, runner):
    result = runner.invoke("plugins disable nope")
    assert result.exit_code == 2
    assert "no plugin named 'nope' is installed (installed: notes)" in result.output
    result = runner.invoke("plugins disable crmkit")
    assert result.exit_code == 2
    assert "cannot be switched off" in result.output


def test_broken_plugin_is_one_line_in_the_cli_not_a_traceback(install_dist, runner):
    install_dist("broken", "import no_such_module_here\n")
    result = runner.invoke("db upgrade")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert ("Error: plugin 'broken': failed to import: ModuleNotFoundError: "
            "No module named 'no_such_module_here'") in result.output
    # The way out works while the plugin is broken.
    listed = runner.invoke("plugins list").output
    assert "error (failed to import" in listed
    assert runner.invoke("plugins disable broken").exit_code == 0
    assert runner.invoke("db upgrade").exit_code == 0
