"""What plugins grant a customer (tier discounts, perks), collected through ``customer_benefits``.

A quote or a campaign asks here and applies the answer without knowing which plugin gave it.
"""
from __future__ import annotations

import decimal
from typing import Any

from flask import current_app

KINDS = ("discount_percent", "discount_amount", "perk")


def benefits_for(customer: Any, context: dict | None = None) -> list[dict]:
    """Every benefit enabled plugins grant, each marked with the plugin that granted it."""
    pm = current_app.extensions["crmkit"].pm
    out = []
    for plugin, answer in pm.call_each("customer_benefits", customer=customer,
                                       context=dict(context or {})):
        for benefit in answer or []:
            if benefit.get("kind") not in KINDS:
                raise ValueError(f"plugin {plugin!r} returned a benefit of unknown kind "
                                 f"{benefit.get('kind')!r}; one of {', '.join(KINDS)}")
            if benefit["kind"] != "perk":
                benefit = {**benefit, "value": decimal.Decimal(str(benefit["value"]))}
            out.append({**benefit, "source": plugin})
    return out


def best_discount_percent(benefits: list[dict]) -> decimal.Decimal:
    """The largest percentage discount on offer; discounts do not stack."""
    return max((b["value"] for b in benefits if b["kind"] == "discount_percent"),
               default=decimal.Decimal(0))
