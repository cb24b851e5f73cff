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
    from crmkit.tasks import Task


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


@hookspec
def register_tasks() -> list[Task]:
    """Return one-off tasks (``crmkit.Task``) that code may ``defer``; the worker runs them while
    the plugin is on."""


# -- customer data --------------------------------------------------------------------------------

@hookspec
def register_interaction_types() -> list[str]:
    """Return extra interaction types the plugin records on timelines (``sales.quote_sent``)."""


@hookspec
def register_custom_field_entities() -> list[str]:
    """Return entities of the plugin that accept custom fields (``sales.deal``)."""


@hookspec
def validate_customer_change(customer: Any, changes: dict) -> dict | None:
    """Return ``{field: message}`` to refuse a customer being created (``customer`` is None) or
    changed; ``changes`` maps each field to ``[old, new]``."""


@hookspec
def customer_benefits(customer: Any, context: dict) -> list[dict] | None:
    """Return benefits the plugin grants this customer, for quotes, campaigns and checkouts to
    apply without importing the plugin: ``{"kind", "value", "label"}`` dicts."""


@hookspec
def register_segment_fields() -> list[dict]:
    """Return fields of customers the plugin offers for segments (``loyalty.club.tier``): dicts
    with ``name``, ``type``, ``label`` and ``values``, a callable returning a query of
    ``(customer_id, value)`` rows that a segment joins to customers."""


@hookspec
def customer_created(customer: Any) -> None:
    """A customer was created (inside the creating transaction)."""


@hookspec
def customer_updated(customer: Any, changes: dict) -> None:
    """A customer changed; ``changes`` maps each changed field to ``[old, new]``."""


@hookspec
def customer_merged(survivor: Any, merged: Any) -> None:
    """``merged`` was folded into ``survivor``: re-point this plugin's records to the survivor."""


@hookspec
def interaction_recorded(interaction: Any) -> None:
    """An interaction was added to a customer's timeline; a ``purchase`` is revenue."""


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
