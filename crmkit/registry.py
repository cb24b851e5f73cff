"""Collections the kernel builds from registration hooks: permissions and periodic jobs."""
from __future__ import annotations

from crmkit.jobs import PeriodicJob
from crmkit.permissions import Permission
from crmkit.plugins import CrmkitPluginManager, PluginError


def collect_permissions(pm: CrmkitPluginManager) -> list[tuple[str, Permission]]:
    """(plugin, permission) pairs; a name declared twice is an error naming both plugins."""
    seen: dict[str, str] = {}
    out = []
    for plugin, perms in pm.call_each("register_permissions", _name_errors=True):
        for perm in perms or []:
            if not isinstance(perm, Permission):
                raise PluginError(f"plugin {plugin!r}: register_permissions must return "
                                  f"Permission objects, got {perm!r}")
            if perm.name in seen:
                raise PluginError(f"permission {perm.name!r} is declared by both "
                                  f"{seen[perm.name]!r} and {plugin!r}")
            seen[perm.name] = plugin
            out.append((plugin, perm))
    return out


def collect_jobs(pm: CrmkitPluginManager) -> list[tuple[str, PeriodicJob]]:
    """(plugin, job) pairs; job names are made unique as ``plugin.name``."""
    out = []
    for plugin, jobs in pm.call_each("register_jobs", _name_errors=True):
        for job in jobs or []:
            if not isinstance(job, PeriodicJob):
                raise PluginError(f"plugin {plugin!r}: register_jobs must return PeriodicJob "
                                  f"objects, got {job!r}")
            out.append((plugin, job))
    return out
