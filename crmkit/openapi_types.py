"""How path ids and decimals look in the API and its OpenAPI document.

- ``<int:...>`` in routes is bounded to what a BIGINT holds: a larger number is a 404 like any
  unknown id, instead of an overflow deep in the database driver, and the document says so.
- Decimals sent as strings (``fields.Decimal(as_string=True)``, how money travels) are documented
  as strings, which is what the answers hold; apispec would call them numbers. Decimal range
  bounds are documented as numbers (apispec would write Decimal objects, rendered as strings).
"""
from __future__ import annotations

import marshmallow as ma
from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1  # the largest BIGINT; both engines store ids within it


class IdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _decimals(self, field, **kwargs) -> dict:
    if not isinstance(field, ma.fields.Decimal):
        return {}
    out: dict = {"type": "string", "format": "decimal"} if field.as_string else {}
    # Range bounds are Decimals, which JSON renders as strings; the document needs numbers.
    for validator in field.validators:
        if isinstance(validator, ma.validate.Range):
            if validator.min is not None:
                out["minimum"] = float(validator.min)
            if validator.max is not None:
                out["maximum"] = float(validator.max)
    return out


def install(app: Flask, api) -> None:
    """Call right after creating the Api, before any blueprint is registered."""
    app.url_map.converters["int"] = IdConverter
    api.register_converter(IdConverter, lambda converter: {
        "type": "integer", "minimum": converter.min if converter.min is not None else 0,
        "maximum": converter.max})
    api.ma_plugin.converter.add_attribute_function(_decimals)
