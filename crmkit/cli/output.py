"""What data commands share: domain errors as messages, JSON output, schema-checked options."""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import uuid
from collections.abc import Mapping

import click
import marshmallow as ma

from crmkit import db
from crmkit.cli.context import with_app
from crmkit.errors import CrmkitError


def _message(exc: CrmkitError) -> str:
    fields = {}
    for location in (exc.errors or {}).values():
        if isinstance(location, Mapping):
            fields.update(location)
    if not fields:
        return exc.message
    return f"{exc.message} {_join(fields)}"


def _join(fields: Mapping) -> str:
    """``{"email": ["Not valid."]}`` as ``email: Not valid.``, fields separated by ``;``."""
    return "; ".join(f"{name}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                     for name, msgs in fields.items())


def domain_command(write: bool = False):
    """Run a command in the app with a connection (and, for ``write``, one write transaction:
    everything or nothing); a domain error becomes its message and exit status 1."""

    def decorate(func):
        @functools.wraps(func)
        @with_app
        def wrapper(*args, **kwargs):
            try:
                if write:
                    with db.write_transaction():
                        return func(*args, **kwargs)
                return func(*args, **kwargs)
            except CrmkitError as exc:
                raise click.ClickException(_message(exc)) from None

        return wrapper

    return decorate


def load_options(schema: ma.Schema, data: dict) -> dict:
    """Options checked by the API's own load schema, so both doors accept the same input."""
    try:
        return schema.load(data)
    except ma.ValidationError as exc:
        problems = exc.messages if isinstance(exc.messages, dict) else {"input": exc.messages}
        raise click.ClickException(f"Invalid input. {_join(problems)}") from None


def _json_default(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)  # money stays exact
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def echo_json(data) -> None:
    click.echo(json.dumps(data, default=_json_default, indent=2, ensure_ascii=False))


def key_values(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    """``("a=1", "b=x")`` from a repeated ``--option NAME=VALUE`` as a dict."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint=option)
        out[name.strip()] = value
    return out
