"""Listing customers: documented filters, documented sorts, keyset pages."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import peewee

from crmkit import custom_fields
from crmkit.auth.scoping import visible
from crmkit.customers.models import (KINDS, STATUSES, Customer, CustomerEmail, CustomerPhone,
                                     CustomerTag, Tag)
from crmkit.custom_fields import CustomValue
from crmkit.errors import ValidationError
from crmkit.pagination import Page, clamp_limit, keyset_page, parse_sort

SORTS = {"name": Customer.name, "created_at": Customer.created_at,
         "updated_at": Customer.updated_at, "status": Customer.status, "id": Customer.id}

# Filters taking one value each, compared for equality.
EQUALS = {"kind": Customer.kind, "owner_id": Customer.owner_id, "company_id": Customer.company,
          "source_channel": Customer.source_channel, "utm_source": Customer.utm_source,
          "utm_medium": Customer.utm_medium, "utm_campaign": Customer.utm_campaign,
          "country": Customer.country}
RANGES = {"created_after": (Customer.created_at, ">="), "created_before": (Customer.created_at, "<"),
          "updated_after": (Customer.updated_at, ">="), "updated_before": (Customer.updated_at, "<")}

def _parse_time(name: str, raw) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        try:
            value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError({name: "Not an ISO 8601 date or time."},
                                  location="query") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def customer_filters(params: Mapping[str, object]) -> list[peewee.Expression]:
    """WHERE conditions for the documented filters; ``custom.<name>[__op]`` for custom fields."""
    conditions = [Customer.merged_into.is_null()]
    for name, column in EQUALS.items():
        if params.get(name) not in (None, ""):
            conditions.append(column == params[name])
    if params.get("status"):
        statuses = [s.strip() for s in str(params["status"]).split(",")]
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise ValidationError({"status": f"Unknown status {bad[0]!r}; one of: "
                                             f"{', '.join(STATUSES)}."}, location="query")
        conditions.append(Customer.status.in_(statuses))
    if params.get("kind") and params["kind"] not in KINDS:
        raise ValidationError({"kind": f"One of: {', '.join(KINDS)}."}, location="query")
    for name, (column, op) in RANGES.items():
        if params.get(name):
            value = _parse_time(name, params[name])
            conditions.append(column >= value if op == ">=" else column < value)
    if params.get("tag"):
        for tag in str(params["tag"]).split(","):
            if not tag.strip():  # "vip," names one tag, not vip and a blank one
                continue
            tagged = (CustomerTag.select(CustomerTag.customer).join(Tag)
                      .where(Tag.name_key == tag.strip().lower()))
            conditions.append(Customer.id.in_(tagged))
    if params.get("q"):
        q = str(params["q"]).strip()
        digits = "".join(ch for ch in q if ch.isdigit())
        # Every email, not only the primary one on the customer's row: a secondary address, or
        # one a merged duplicate brought along, finds the customer too.
        emails = CustomerEmail.select(CustomerEmail.customer).where(
            CustomerEmail.email_key.contains(q.lower()))
        match = (Customer.name.contains(q)) | Customer.id.in_(emails)
        if len(digits) >= 4:
            phones = CustomerPhone.select(CustomerPhone.customer).where(
                CustomerPhone.number.contains(digits))
            match = match | Customer.id.in_(phones)
        conditions.append(match)
    for key, raw in params.items():
        if key.startswith("custom."):
            name, _, op = key[len("custom."):].partition("__")
            conditions.append(custom_fields.filter_condition(
                "customer", Customer.id, name, op or "eq", raw))
    return conditions


def list_customers(params: Mapping[str, object], max_page_size: int) -> Page:
    """A page of customers. Sorted by a custom field, customers without a value come first
    (last with ``-custom.<name>``), whatever the values of the others."""
    limit = clamp_limit(params.get("limit"), max_page_size)
    sort = params.get("sort")
    if sort and str(sort).lstrip("-").startswith("custom."):
        name = str(sort).lstrip("-")
        descending = str(sort).startswith("-")
        sort_expr, kind = custom_fields.sort_expression("customer", Customer.id,
                                                        name[len("custom."):])
        # The column the values come from: it types the cursor and reads the raw sort value
        # (SQLite hands back a decimal as a float, a date as text).
        value_field = getattr(CustomValue, custom_fields.value_column(kind))
        query = Customer.select(Customer, sort_expr.alias("sort_value"))
        nullable = True  # a customer may have no value

        def value_of(row):
            return value_field.python_value(row.sort_value)
    else:
        name, descending = parse_sort(sort, SORTS, "name")
        sort_expr = value_field = SORTS[name]
        query = Customer.select()
        nullable = False

        def value_of(row):
            return getattr(row, name)
    for condition in customer_filters(params):
        query = query.where(condition)
    query = visible(query, Customer)  # only the customers the caller's role scope covers
    return keyset_page(query, sort_expr, Customer.id, descending, params.get("cursor"), limit,
                       value_of, sort_key=("-" if descending else "") + name,
                       value_field=value_field, nullable=nullable)
