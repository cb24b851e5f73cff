"""Hook specifications of the crmkit kernel.

Every spec here is documented in ``docs/hooks.md`` and exercised by a ``test_hook_<name>`` test;
``tests/test_docs.py`` fails when either is missing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmkit.hooks import hookspec

if TYPE_CHECKING:  # pragma: no cover - types only
    import click
    import flask_smorest

    from crmkit.jobs import PeriodicJob
    from crmkit.permissions import Permission
    from crmkit.plugins import CrmkitPluginManager


# -- set-up ---------------------------------------------------------------------------------------

@hookspec(historic=True)
def add_hookspecs(pm: CrmkitPluginManager) -> None:
    """Add hookspecs of a plugin so that other plugins can implement them.

    Call ``pm.add_hookspecs(module)``. Historic: a plugin registered later still sees the call.
    """


@hookspec
def register_models() -> list[type]:
    """Return the peewee model classes the plugin owns (tables prefixed with the plugin name)."""


@hookspec
def register_blueprints() -> list[flask_smorest.Blueprint]:
    """Return flask-smorest blueprints; the kernel mounts them under ``/api/v1/<plugin>``."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``crmkit`` command line."""


@hookspec
def register_permissions() -> list[Permission]:
    """Return the permissions the plugin's endpoints and commands require."""


@hookspec
def register_jobs() -> list[PeriodicJob]:
    """Return periodic jobs (cron-style schedules) the worker should run while the plugin is on."""


# -- customer data --------------------------------------------------------------------------------

@hookspec
def customer_profile_section(customer: Any) -> dict | None:
    """Return this plugin's section of a customer's 360 profile, or None to add nothing."""


@hookspec
def export_personal_data(customer: Any) -> dict | None:
    """Return everything this plugin holds on a person, as JSON-ready data, or None."""


@hookspec
def erase_personal_data(customer: Any, pseudonym: str) -> None:
    """Anonymise this plugin's personal data on a person, keeping financial records under
    ``pseudonym``."""


@hookspec
def load_demo_data(size: int) -> None:
    """Fill the plugin's tables with realistic demo records; ``size`` scales how many."""
