"""Schema upgrades: migrations with one history per plugin.

Each plugin (and the kernel) keeps numbered scripts in its own ``migrations/`` directory and its own
history table ``migrations_<plugin>``, so plugins evolve independently. A fresh database skips the
scripts: tables come straight from the models and every script is recorded as applied.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from playhouse.migrations import Runner

from crmkit.db import connection, database, write_transaction
from crmkit.plugins import KERNEL, CrmkitPluginManager, PluginInfo

KERNEL_MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


@dataclass
class UpgradeResult:
    plugin: str
    applied: list[str]
    created: bool  # tables created from the models on a fresh database


def history_table(plugin: str) -> str:
    return f"migrations_{plugin}"


def migrations_dir(info: PluginInfo) -> str | None:
    if info.name == KERNEL:
        return KERNEL_MIGRATIONS
    if info.manifest is not None and info.manifest.migrations:
        return info.manifest.migrations
    module_file = getattr(info.obj, "__file__", None)
    if module_file:
        candidate = os.path.join(os.path.dirname(module_file), "migrations")
        if os.path.isdir(candidate):
            return candidate
    return None


def models_by_plugin(pm: CrmkitPluginManager) -> dict[str, list[type]]:
    return {name: list(models or [])
            for name, models in pm.call_each("register_models", _name_errors=True)}


def runner_for(info: PluginInfo) -> Runner | None:
    directory = migrations_dir(info)
    if directory is None:
        return None
    return Runner(database.obj, directory, table_name=history_table(info.name))


def upgrade_plugin(info: PluginInfo, models: list[type], from_scratch: bool = False) -> UpgradeResult:
    """Bring one plugin's tables up to date.

    ``from_scratch`` runs every script even on an empty database; tests use it to prove the scripts
    build the same schema as the models.
    """
    runner = runner_for(info)
    if runner is None:
        with write_transaction():
            database.create_tables(models, safe=True)
        return UpgradeResult(info.name, [], True)
    # One catalog query, not one per model: on PostgreSQL each lookup is a round trip.
    tables = set(database.get_tables())
    fresh = (runner.History._meta.table_name not in tables
             and not any(m._meta.table_name in tables for m in models))
    if fresh and not from_scratch:
        with write_transaction():
            database.create_tables(models)
            applied = runner.fake()
        return UpgradeResult(info.name, applied, True)
    return UpgradeResult(info.name, runner.up(), False)


def upgrade(pm: CrmkitPluginManager, only: str | None = None,
            from_scratch: bool = False) -> list[UpgradeResult]:
    """Upgrade the kernel, then each active plugin, in dependency order."""
    models = models_by_plugin(pm)
    results = []
    with connection():
        for info in pm.active():
            if only is None or info.name == only:
                results.append(upgrade_plugin(info, models.get(info.name, []), from_scratch))
    return results


def pending(pm: CrmkitPluginManager) -> dict[str, list[str]]:
    """Scripts not yet applied, per active plugin."""
    out: dict[str, list[str]] = {}
    with connection():
        for info in pm.active():
            runner = runner_for(info)
            if runner is not None:
                out[info.name] = [m.name for m in runner.status() if not m.applied and m.path]
    return out


def drift(pm: CrmkitPluginManager) -> dict[str, str]:
    """Per plugin, how the database differs from the models (empty when they match)."""
    from playhouse.schema_diff import diff_models
    models = models_by_plugin(pm)
    out = {}
    with connection():
        for info in pm.active():
            difference = diff_models(database.obj, models.get(info.name, []))
            if difference:
                out[info.name] = str(difference)
    return out
