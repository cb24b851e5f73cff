"""The timeline: recording interactions (append-only) and reading them back."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Mapping

import peewee
from flask import current_app, has_app_context

from crmkit import audit
from crmkit.customers.models import DIRECTIONS, Customer, Interaction
from crmkit.customers.service import get_customer
from crmkit.db import SQLITE_DECIMAL_DIGITS, decimal_kept, significant_digits, utcnow
from crmkit.errors import Conflict, ValidationError
from crmkit.events import emit
from crmkit.pagination import Page, clamp_limit, keyset_page

BUILTIN_TYPES = ("call", "email", "meeting", "visit", "note", "web_form", "purchase", "refund",
                 "ticket", "feedback", "sms", "chat", "social")
MONEY_TYPES = ("purchase", "refund")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,49}$")
# A purchase turns someone who had not bought (or had stopped buying) into a customer.
_BECOMES_ACTIVE = ("potential", "prospect", "inactive", "churned")


def interaction_types() -> list[str]:
    types = list(BUILTIN_TYPES)
    if has_app_context():
        for names in current_app.extensions["crmkit"].pm.hook.register_interaction_types():
            for name in names or []:
                if not _TYPE_NAME.match(name):
                    raise ValueError(f"interaction type {name!r} must be lower case, e.g. "
                                     "'loyalty.reward_claimed'")
                if name not in types:
                    types.append(name)
    return types


# What the amount column holds (18 digits, 4 of them places): amounts and line totals stay below.
_MONEY_LIMIT = decimal.Decimal(10) ** (Interaction.amount.max_digits
                                       - Interaction.amount.decimal_places)
_AMOUNT_PLACES = decimal.Decimal(1).scaleb(-Interaction.amount.decimal_places)
_LINE_PLACES = decimal.Decimal("0.01")


def _below_limit(value: decimal.Decimal, places: decimal.Decimal) -> decimal.Decimal | None:
    """``value`` rounded to ``places``, or None when it is not below the limit once rounded
    (99999999999999.99999 rounds up to 10^14). Checked first as well: quantizing a much larger
    value overflows the decimal context."""
    if value >= _MONEY_LIMIT:
        return None
    value = value.quantize(places)
    return value if value < _MONEY_LIMIT else None


def _money(value, field: str, errors: dict) -> decimal.Decimal | None:
    try:
        amount = decimal.Decimal(str(value))
    except (decimal.InvalidOperation, ValueError, TypeError):
        errors[field] = "Not a valid amount."
        return None
    if not amount.is_finite() or amount < 0 or amount >= _MONEY_LIMIT:
        errors[field] = "Must be a non-negative amount below 10^14."
        return None
    return amount


def _check_lines(lines, errors: dict) -> list[dict]:
    clean = []
    if not isinstance(lines, list):
        errors["lines"] = "Must be a list of line items."
        return clean
    for i, line in enumerate(lines):
        if not isinstance(line, Mapping):
            errors[f"lines.{i}"] = "Must be an object."
            continue
        name = str(line.get("name") or line.get("sku") or "").strip()
        if not name:
            errors[f"lines.{i}.name"] = "A line needs a name or sku."
        quantity = _money(line.get("quantity", 1), f"lines.{i}.quantity", errors)
        price = _money(line.get("unit_price", 0), f"lines.{i}.unit_price", errors)
        item = {k: v for k, v in line.items() if k in ("sku", "name", "category")}
        if quantity is not None and price is not None:
            total = _below_limit(quantity * price, _LINE_PLACES)
            if total is None:
                errors[f"lines.{i}.unit_price"] = "The line total must be below 10^14."
            else:
                item.update(quantity=str(quantity), unit_price=str(price), total=str(total))
        clean.append(item)
    return clean


def record_interaction(customer_id: int, data: Mapping, source: str = "api") -> Interaction:
    """Append an interaction. With ``external_id`` it is idempotent per source: recording the
    same one again returns the first and changes nothing."""
    # Locked: a merge running now would otherwise move the timeline away and leave this entry
    # behind on the merged-away record.
    customer = get_customer(customer_id, lock=True)
    external_id = data.get("external_id")
    if external_id:
        existing = Interaction.get_or_none((Interaction.source == source)
                                           & (Interaction.external_id == str(external_id)))
        if existing is not None:
            if existing.customer_id == customer.id:
                return existing
            # Taken on another customer, maybe one the caller may not see: say no more than that.
            raise Conflict("The external_id is in use.", {"json": {"external_id": [
                "Already used for another customer's interaction from this source."]}})
    values = check_interaction(data)
    try:
        interaction = Interaction.create(customer=customer, source=source, **values)
    except peewee.IntegrityError as exc:
        if not external_id or "external_id" not in str(exc):
            raise
        # Recorded by another transaction after the look above (PostgreSQL): the unique index
        # answers as that look would have; sent again, it finds the first if it is this one's.
        raise Conflict("The external_id is in use.", {"json": {"external_id": [
            "Already used for an interaction from this source."]}}) from None
    if values["type"] == "purchase" and customer.status in _BECOMES_ACTIVE:
        (Customer.update(status="active", updated_at=utcnow())
         .where(Customer.id == customer.id).execute())
    audit.record("create", "interaction", interaction.id, detail={
        "customer_id": customer.id, "type": values["type"], "source": source})
    if has_app_context():
        current_app.extensions["crmkit"].pm.hook.interaction_recorded(interaction=interaction)
    emit("interaction.recorded", interaction_dict(interaction), subject="customer",
         subject_id=customer.id)
    return interaction


def check_interaction(data: Mapping, types: list[str] | None = None) -> dict:
    """Every rule an interaction must pass, without writing; returns the column values (all but
    customer and source) or raises ValidationError. Bulk import passes ``types`` once."""
    types = interaction_types() if types is None else types
    external_id = data.get("external_id")
    errors: dict = {}
    kind = data.get("type")
    if kind not in types:
        errors["type"] = f"Unknown interaction type; one of: {', '.join(types)}."
    direction = data.get("direction") or ("internal" if kind == "note" else "inbound")
    if direction not in DIRECTIONS:
        errors["direction"] = f"One of: {', '.join(DIRECTIONS)}."
    amount = currency = None
    if data.get("amount") is not None:
        amount = _money(data["amount"], "amount", errors)
        if amount is not None:  # the stored scale, so the answer matches what is read back
            amount = _below_limit(amount, _AMOUNT_PLACES)
            if amount is None:
                errors["amount"] = "Must be a non-negative amount below 10^14."
            elif not decimal_kept(amount):
                # Refused rather than stored rounded: what is read back must be what was sent.
                errors["amount"] = (
                    f"Too many digits: this database (SQLite) keeps {SQLITE_DECIMAL_DIGITS} "
                    f"significant digits of an amount; this one has {significant_digits(amount)}.")
    if data.get("currency") is not None:
        currency = str(data["currency"]).upper()
        if not _CURRENCY.match(currency):
            errors["currency"] = "An ISO 4217 code such as EUR."
    if kind in MONEY_TYPES:
        if data.get("amount") is None:
            errors["amount"] = f"A {kind} needs an amount."
        if data.get("currency") is None:
            errors["currency"] = f"A {kind} needs a currency."
    elif amount is not None and currency is None:
        errors["currency"] = "An amount needs a currency."
    lines = _check_lines(data["lines"], errors) if data.get("lines") is not None else None
    payload = data.get("payload")
    if payload is not None and not isinstance(payload, Mapping):
        errors["payload"] = "Must be an object."
    occurred_at = data.get("occurred_at") or utcnow()
    if isinstance(occurred_at, dt.datetime) and occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=dt.timezone.utc)
    if errors:
        raise ValidationError(errors)
    return {"type": kind, "channel": data.get("channel"), "direction": direction,
            "occurred_at": occurred_at, "actor": data.get("actor"),
            "summary": data.get("summary"),
            "payload": json.dumps(payload) if payload is not None else None, "amount": amount,
            "currency": currency, "lines": json.dumps(lines) if lines is not None else None,
            "external_id": str(external_id) if external_id else None}


def interaction_dict(i: Interaction) -> dict:
    return {"id": i.id, "customer_id": i.customer_id, "type": i.type, "channel": i.channel,
            "direction": i.direction, "occurred_at": i.occurred_at, "actor": i.actor,
            "summary": i.summary, "payload": json.loads(i.payload) if i.payload else None,
            "amount": i.amount, "currency": i.currency,
            "lines": json.loads(i.lines) if i.lines else None, "source": i.source,
            "external_id": i.external_id, "created_at": i.created_at}


def interaction_filters(params: Mapping) -> list:
    """WHERE conditions for the timeline's filters: ``type``, ``channel``, ``direction`` and
    ``source`` (each a comma list), ``occurred_after`` (inclusive), ``occurred_before``."""
    conditions = []
    # An unknown direction can match nothing: say so rather than answer an empty timeline.
    if params.get("direction") and not set(str(params["direction"]).split(",")) <= set(DIRECTIONS):
        raise ValidationError({"direction": f"One of: {', '.join(DIRECTIONS)}."},
                              location="query")
    for name in ("type", "channel", "direction", "source"):
        if params.get(name):
            conditions.append(getattr(Interaction, name).in_(str(params[name]).split(",")))
    for name, op in (("occurred_after", ">="), ("occurred_before", "<")):
        if params.get(name):
            from crmkit.customers.search import _parse_time
            value = _parse_time(name, params[name])
            conditions.append(Interaction.occurred_at >= value if op == ">="
                              else Interaction.occurred_at < value)
    return conditions


def list_interactions(customer_id: int, params: Mapping, max_page_size: int) -> Page:
    customer = get_customer(customer_id)
    query = Interaction.select().where(Interaction.customer == customer,
                                       *interaction_filters(params))
    limit = clamp_limit(params.get("limit"), max_page_size)
    return keyset_page(query, Interaction.occurred_at, Interaction.id, True, params.get("cursor"),
                       limit, lambda row: row.occurred_at)
