"""Sandboxed Jinja2 for document templates (HTML, escaped) and task titles (plain text).

Templates are written by users, so they run in Jinja2's immutable sandbox: no attribute access to
Python internals, no changing the data they are given. The data itself is plain dicts, lists,
strings and Decimals (``merge_fields``), never model objects. A name the template uses but the data
lacks is an error, so a misspelt merge field is caught when the template is saved.
"""
from __future__ import annotations

import datetime as dt
import decimal
from functools import lru_cache

import jinja2
import markupsafe
from jinja2.sandbox import ImmutableSandboxedEnvironment

from crmkit.errors import ValidationError


def format_money(value, places: int = 2) -> str:
    """``1234.5`` -> ``1,234.50``; Decimal in, text out, never through a float."""
    if value is None or value == "":
        return ""
    amount = decimal.Decimal(str(value)).quantize(decimal.Decimal(1).scaleb(-places),
                                                  rounding=decimal.ROUND_HALF_UP)
    return f"{amount:,.{places}f}"


def format_date(value, fmt: str = "%Y-%m-%d") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime(fmt)


def nl2br(value) -> markupsafe.Markup:
    """Lines of text (an address) as HTML lines, each escaped."""
    lines = str(value or "").splitlines()
    return markupsafe.Markup("<br>").join(markupsafe.escape(line) for line in lines)


def _finalize(value):
    return "" if value is None else value


def _environment(html: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=html, undefined=jinja2.StrictUndefined,
                                        finalize=_finalize, trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = format_money
    env.filters["date"] = format_date
    env.filters["nl2br"] = nl2br
    return env


_HTML = _environment(html=True)
_TEXT = _environment(html=False)


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> jinja2.Template:
    return (_HTML if html else _TEXT).from_string(source)


def check(source: str, field: str, sample: dict | None = None, html: bool = True) -> None:
    """422 naming ``field`` when ``source`` does not parse, or fails on ``sample`` data."""
    try:
        template = _compiled(source, html)
        if sample is not None:
            template.render(sample)
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError({field: f"Template error on line {exc.lineno}: {exc.message}"})
    except jinja2.UndefinedError as exc:
        raise ValidationError({field: f"Unknown merge field: {exc.message}"})
    except jinja2.exceptions.SecurityError as exc:
        raise ValidationError({field: f"Not allowed in a template: {exc}"})
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ValidationError({field: f"The template fails on sample data: {exc}"})


def render(source: str, data: dict, html: bool = True, field: str = "template") -> str:
    try:
        return _compiled(source, html).render(data)
    except jinja2.TemplateError as exc:
        raise ValidationError({field: f"The template cannot be rendered: {exc}"})
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ValidationError({field: f"The template cannot be rendered: {exc}"})


def render_text(source: str, data: dict, field: str = "title") -> str:
    """A one-line text (a task title): rendered without escaping, whitespace collapsed."""
    return " ".join(render(source, data, html=False, field=field).split())
