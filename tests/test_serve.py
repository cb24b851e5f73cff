"""``crmkit serve`` and the console script, as real processes."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from crmkit.testing import admin_token

CRMKIT = str(Path(sys.executable).with_name("crmkit"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def crmkit_env(crmkit_config, **extra):
    env = {**os.environ, "CRMKIT_DATABASE_URL": crmkit_config["DATABASE_URL"], **extra}
    env.pop("CRMKIT_PLUGINS", None)
    return env


def get_json(url, attempts=100, token=None):
    last = None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(attempts):  # bounded: about 10 s
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                        timeout=2) as response:
                return response.status, json.loads(response.read())
        except OSError as exc:
            last = exc
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered: {last}")


def test_serve_runs_gunicorn_and_answers_healthz(crmkit_config, app):
    port = free_port()
    server = subprocess.Popen(
        [CRMKIT, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=crmkit_env(crmkit_config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        status, body = get_json(f"http://127.0.0.1:{port}/healthz")
        assert status == 200
        assert body["status"] == "ok" and body["plugins"][0] == "crmkit"
        status, listed = get_json(f"http://127.0.0.1:{port}/api/v1/plugins",
                                  token=admin_token(app))
        assert [p["name"] for p in listed][0] == "crmkit"
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    assert "gunicorn" in output.lower() or "Booting worker" in output


def test_serve_with_a_broken_plugin_exits_with_one_clear_message(crmkit_config, tmp_path):
    site = tmp_path / "site"
    (site / "crmkit_broken").mkdir(parents=True)
    (site / "crmkit_broken" / "__init__.py").write_text("import not_installed_anywhere\n")
    dist = site / "crmkit_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: crmkit-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[crmkit]\nbroken = crmkit_broken\n")
    env = crmkit_env(crmkit_config, PYTHONPATH=str(site))
    result = subprocess.run([CRMKIT, "serve", "--bind", f"127.0.0.1:{free_port()}"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "Error: plugin 'broken': failed to import: ModuleNotFoundError: "
        "No module named 'not_installed_anywhere'",
        "fix the plugin, or switch it off with `crmkit plugins disable NAME`"]


def test_help_does_not_create_a_database(tmp_path):
    env = {**os.environ, "CRMKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    result = subprocess.run([CRMKIT, "--help"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    assert "plugins" in result.stdout and "serve" in result.stdout
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize("args, message", [
    (["serve", "--workers", "0"], "Invalid value for '--workers'"),
    (["demo", "--size", "-1"], "Invalid value for '--size'"),
])
def test_bad_cli_arguments_are_clear_errors(runner, args, message):
    result = runner.invoke(args)
    assert result.exit_code == 2
    assert message in result.output
