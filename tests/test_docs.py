"""Docs that cannot drift: every hook documented and tested, the README example runs."""
import inspect
import re
from pathlib import Path

import pytest

from crmkit.hooks import specs

ROOT = Path(__file__).resolve().parent.parent
HOOKS_DOC = (ROOT / "docs" / "hooks.md").read_text()
README = (ROOT / "README.md").read_text()


def hookspecs():
    return {name: fn for name, fn in inspect.getmembers(specs, inspect.isfunction)
            if hasattr(fn, "crmkit_spec")}


def documented_signature(name, fn):
    return name + str(inspect.signature(fn)).replace("'", "")


def test_hookspecs_exist():
    assert len(hookspecs()) >= 10


@pytest.mark.parametrize("name", sorted(hookspecs()))
def test_every_hookspec_is_documented_with_its_exact_signature(name):
    heading = f"### {documented_signature(name, hookspecs()[name])}"
    assert heading in HOOKS_DOC.splitlines(), f"docs/hooks.md lacks the heading {heading!r}"


@pytest.mark.parametrize("name", sorted(hookspecs()))
def test_every_hookspec_has_a_test(name):
    pattern = re.compile(rf"^def test_hook_{name}\b", re.M)
    for path in Path(__file__).parent.rglob("test_*.py"):
        if pattern.search(path.read_text()):
            return
    pytest.fail(f"no test named test_hook_{name} under tests/")


def test_no_documented_hook_is_stale():
    documented = set(re.findall(r"^### (\w+)\(", HOOKS_DOC, re.M))
    assert documented == set(hookspecs())


def readme_block(marker):
    match = re.search(rf"<!-- {marker} -->\s*```\w*\n(.*?)```", README, re.S)
    assert match, f"README.md has no block after <!-- {marker} -->"
    return match.group(1)


def test_readme_plugin_example_runs(install_dist, make_app):
    install_dist("visits", readme_block("example-plugin"))
    client = make_app().test_client()
    assert client.get("/api/v1/visits/visits").json == {"count": 0}
    response = client.post("/api/v1/visits/visits", json={"venue": "Riverside store"})
    assert response.status_code == 201
    assert response.json == {"id": 1, "venue": "Riverside store"}
    assert client.get("/api/v1/visits/visits").json == {"count": 1}
    assert client.post("/api/v1/visits/visits", json={}).json["errors"]["json"] == {
        "venue": ["Missing data for required field."]}


def test_readme_starts_with_the_two_commands():
    head = README.split("\n## ", 1)[0]
    assert "scripts/serve-demo.sh" in head
    assert "scripts/test.sh" in head

