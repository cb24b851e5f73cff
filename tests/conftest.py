"""Kernel test fixtures. ``app``, ``client``, ``runner`` and ``db`` come from crmkit.testing."""
from __future__ import annotations

import importlib
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

PLUGINS_DIR = Path(__file__).parent / "plugins"
# The project's own plugins (plugins/<name>/), which may be installed in the same environment:
# the kernel's tests do not see them (they have their own tests, run with only the kernel), except
# tests marked ``every_plugin`` (the API-wide schema check), which are about all of them.
PROJECT_PLUGINS = frozenset(p.name for p in (Path(__file__).parent.parent / "plugins").glob("*")
                            if (p / "pyproject.toml").exists())


def pytest_configure(config):
    config.addinivalue_line("markers", "every_plugin: the test sees the project's installed "
                                       "plugins too")


@pytest.fixture(autouse=True)
def _kernel_tests_see_only_their_own_plugins(request, monkeypatch):
    if request.node.get_closest_marker("every_plugin"):
        return
    import crmkit.plugins
    found = crmkit.plugins.entry_points

    def entry_points(**kwargs):
        return [ep for ep in found(**kwargs) if ep.name not in PROJECT_PLUGINS]

    monkeypatch.setattr(crmkit.plugins, "entry_points", entry_points)


@pytest.fixture
def install_dist(tmp_path, monkeypatch):
    """Install a plugin distribution for one test: a real module plus a real ``*.dist-info``
    with an entry point in the ``crmkit`` group, found by importlib.metadata like any other.

    ``install_dist("greeter", source, version="1.2")`` makes module ``crmkit_greeter``.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    added: list[str] = []

    def install(name: str, source: str = "", version: str = "1.0", module: str | None = None,
                files: dict[str, str] | None = None, copy_of: str | None = None) -> str:
        """``copy_of`` names a package under tests/plugins to install instead of ``source``."""
        module = module or f"crmkit_{name}"
        package = site / module
        if copy_of:
            shutil.copytree(PLUGINS_DIR / copy_of, package,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            package.mkdir()
            (package / "__init__.py").write_text(textwrap.dedent(source))
        for relpath, text in (files or {}).items():
            target = package / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text))
        dist = site / f"{module}-{version}.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: {version}\n")
        (dist / "entry_points.txt").write_text(f"[crmkit]\n{name} = {module}\n")
        importlib.invalidate_caches()
        added.append(module)
        return module

    yield install
    for module in added:
        for loaded in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
            del sys.modules[loaded]
    importlib.invalidate_caches()


@pytest.fixture
def notes_plugin(install_dist):
    """The sample ``notes`` plugin (tests/plugins/crmkit_notes) installed as a distribution."""
    return install_dist("notes", copy_of="crmkit_notes")
