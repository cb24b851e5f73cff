"""Fields of customers that plugins offer for segments, collected through
``register_segment_fields``.

A field is a name, a type and a query of ``(customer_id, value)`` rows. Segments never loop over
customers asking each field for a value: they join the field's query to the customer query, so a
filter is one SQL statement whatever the number of customers.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import peewee
from flask import current_app

from crmkit.plugins import KERNEL, CrmkitPluginManager, PluginError

TYPES = ("string", "integer", "decimal", "boolean", "date", "datetime")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass(frozen=True)
class SegmentField:
    name: str
    type: str
    label: str
    plugin: str
    values: Callable[[], peewee.SelectQuery]
    choices: tuple | None = None

    def as_dict(self) -> dict:
        """What a user interface needs (everything but the query)."""
        return {"name": self.name, "type": self.type, "label": self.label,
                "plugin": self.plugin, "choices": list(self.choices) if self.choices else None}


def _checked(plugin: str, raw: dict) -> SegmentField:
    name = raw.get("name")
    problem = None
    if not isinstance(name, str) or not _NAME.match(name):
        problem = f"segment field name {name!r} must be dotted lower case"
    elif plugin != KERNEL and not name.startswith(f"{plugin}."):
        problem = f"segment field {name!r} must start with the plugin name {plugin!r}"
    elif raw.get("type") not in TYPES:
        problem = f"segment field {name!r} has type {raw.get('type')!r}; one of {', '.join(TYPES)}"
    elif not callable(raw.get("values")):
        problem = f"segment field {name!r} needs 'values': a callable returning a query"
    if problem:
        raise PluginError(f"plugin {plugin!r}: {problem}")
    choices = raw.get("choices")
    return SegmentField(name=name, type=raw["type"], label=str(raw.get("label") or name),
                        plugin=plugin, values=raw["values"],
                        choices=tuple(choices) if choices else None)


def segment_fields(pm: CrmkitPluginManager | None = None) -> dict[str, SegmentField]:
    """Every field enabled plugins offer, by name; a name offered twice is an error naming both."""
    pm = pm if pm is not None else current_app.extensions["crmkit"].pm
    out: dict[str, SegmentField] = {}
    for plugin, fields in pm.call_each("register_segment_fields", _name_errors=True):
        for raw in fields or []:
            field = _checked(plugin, raw)
            if field.name in out:
                raise PluginError(f"segment field {field.name!r} is offered by both "
                                  f"{out[field.name].plugin!r} and {plugin!r}")
            out[field.name] = field
    return out


def join_field(query: peewee.ModelSelect, field: SegmentField,
               alias: str | None = None) -> tuple[peewee.ModelSelect, peewee.Node]:
    """``query`` (over customers) LEFT JOINed to the field's values; returns the query and the
    value column to filter or sort on. Customers without a value read as NULL."""
    from crmkit.customers.models import Customer
    values = field.values().alias(alias or "sf_" + re.sub(r"[^a-z0-9_]", "_", field.name))
    joined = query.join(values, peewee.JOIN.LEFT_OUTER,
                        on=(values.c.customer_id == Customer.id))
    return joined, values.c.value
