"""Hooks the sales plugin offers to other plugins (added through ``add_hookspecs``).

A plugin implementing them lists ``sales`` in its manifest's ``requires`` or marks the
implementation ``@hookimpl(optionalhook=True)``.
"""
from __future__ import annotations

from typing import Any

from crmkit import hookspec


class SalesSpecs:
    @hookspec
    def sales_deal_stage_changed(self, deal: Any, old_stage: Any, new_stage: Any) -> None:
        """A deal moved from ``old_stage`` to ``new_stage``, inside the moving transaction
        (after the stage's automations ran). Raise to refuse the move."""

    @hookspec
    def sales_deal_won(self, deal: Any, interaction: Any) -> None:
        """A deal was won for the first time; ``interaction`` is the purchase it recorded on the
        customer's timeline (what other plugins should treat as revenue)."""
