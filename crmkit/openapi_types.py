"""How path ids and decimals look in the API and its OpenAPI document.

- ``<int:...>`` in routes is bounded to what a BIGINT holds: a larger number is a 404 like any
  unknown id, instead of an overflow deep in the database driver, and the document says so.
- Decimals sent as strings (``fields.Decimal(as_string=True)``, how money travels) are documented
  as strings, which is what the answers hold; apispec would call them numbers.
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


def _decimal_as_string(self, field, **kwargs) -> dict:
    if isinstance(field, ma.fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    return {}


def install(app: Flask, api) -> None:
    """Call right after creating the Api, before any blueprint is registered."""
    app.url_map.converters["int"] = IdConverter
    api.register_converter(IdConverter, lambda converter: {
        "type": "integer", "minimum": converter.min if converter.min is not None else 0,
        "maximum": converter.max})
    api.ma_plugin.converter.add_attribute_function(_decimal_as_string)
