"""Per-plugin contributions about one customer: profile sections, personal-data export, erasure.

Each result is keyed by the plugin that gave it, so a reader of the profile or of an export knows
where every part came from.
"""
from __future__ import annotations

from typing import Any

from flask import current_app

from crmkit.plugins import CrmkitPluginManager


def _pm(pm: CrmkitPluginManager | None) -> CrmkitPluginManager:
    return pm if pm is not None else current_app.extensions["crmkit"].pm


def profile_sections(customer: Any, pm: CrmkitPluginManager | None = None) -> dict[str, dict]:
    """``{plugin: section}`` from every enabled plugin that has something to say."""
    return {plugin: section for plugin, section
            in _pm(pm).call_each("customer_profile_section", customer=customer)
            if section is not None}


def personal_data(customer: Any, pm: CrmkitPluginManager | None = None) -> dict[str, dict]:
    """``{plugin: data}``: everything enabled plugins hold on the person."""
    return {plugin: data for plugin, data
            in _pm(pm).call_each("export_personal_data", customer=customer)
            if data is not None}


def erase_personal_data(customer: Any, pseudonym: str,
                        pm: CrmkitPluginManager | None = None) -> list[str]:
    """Ask every enabled plugin to anonymise its data on the person; returns the plugins asked.

    Runs inside the caller's transaction: one plugin failing leaves every plugin's data as it was.
    """
    return [plugin for plugin, _ in _pm(pm).call_each(
        "erase_personal_data", customer=customer, pseudonym=pseudonym)]
