"""Load and dump shapes for customers, interactions, tags and custom fields.

Load schemas list only what a caller may write: ids, timestamps and merge pointers are server-owned
and an unknown field is a 422, not silently dropped.
"""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit.custom_fields import TYPES
from crmkit.customers.models import DIRECTIONS, KINDS, STATUSES
from crmkit.customers.tags import tag_problem


def _text(n: int, **kw):
    return f.String(validate=v.Length(max=n), allow_none=True, **kw)


def _tag_name(name: str) -> None:
    """The rules of crmkit.customers.tags, here too, so that an import reports them against
    the row's tags cell."""
    problem = tag_problem(name.strip())
    if problem is not None:
        raise ma.ValidationError(problem)


# Line items one purchase or refund may list (the API's and the import's limit).
MAX_LINE_ITEMS = 500


class CustomerIn(ma.Schema):
    kind = f.String(validate=v.OneOf(KINDS))
    name = _text(300)
    first_name = _text(150)
    last_name = _text(150)
    job_title = _text(150)
    company_id = f.Integer(allow_none=True, strict=True)
    email = _text(320)
    other_emails = f.List(f.String(validate=v.Length(max=320)), validate=v.Length(max=20))
    phone = _text(40)
    other_phones = f.List(f.String(validate=v.Length(max=40)), validate=v.Length(max=20))
    street = _text(300)
    city = _text(150)
    region = _text(150)
    postal_code = _text(32)
    country = f.String(validate=v.Regexp(r"^[A-Z]{2}$", error="An ISO 3166 code such as DE."),
                       allow_none=True)
    status = f.String(validate=v.OneOf(STATUSES))
    competitor = _text(200)
    source_channel = _text(100)
    utm_source = _text(200)
    utm_medium = _text(200)
    utm_campaign = _text(200)
    utm_term = _text(200)
    utm_content = _text(200)
    owner_id = f.Integer(allow_none=True, strict=True)
    notes = f.String(validate=v.Length(max=20000), allow_none=True)
    tags = f.List(f.String(validate=[v.Length(min=1, max=100), _tag_name]),
                  validate=v.Length(max=100))
    custom = f.Dict(keys=f.String())


class CustomerPatch(CustomerIn):
    """The same fields as CustomerIn, every one optional."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class CustomerOut(ma.Schema):
    id = f.Integer()
    kind = f.String()
    name = f.String()
    first_name = f.String(allow_none=True)
    last_name = f.String(allow_none=True)
    job_title = f.String(allow_none=True)
    company_id = f.Integer(allow_none=True)
    email = f.String(allow_none=True)
    other_emails = f.List(f.String())
    phone = f.String(allow_none=True)
    other_phones = f.List(f.String())
    street = f.String(allow_none=True)
    city = f.String(allow_none=True)
    region = f.String(allow_none=True)
    postal_code = f.String(allow_none=True)
    country = f.String(allow_none=True)
    status = f.String()
    competitor = f.String(allow_none=True)
    source_channel = f.String(allow_none=True)
    utm_source = f.String(allow_none=True)
    utm_medium = f.String(allow_none=True)
    utm_campaign = f.String(allow_none=True)
    utm_term = f.String(allow_none=True)
    utm_content = f.String(allow_none=True)
    owner_id = f.Integer(allow_none=True)
    notes = f.String(allow_none=True)
    tags = f.List(f.String())
    custom = f.Dict(keys=f.String())
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()


class PageArgs(ma.Schema):
    cursor = f.String(validate=v.Length(max=500))
    limit = f.Integer(metadata={"description": "Page size; at most CRMKIT_MAX_PAGE_SIZE."})


class CustomerListArgs(PageArgs):
    """Filters; also ``custom.<name>=value`` and ``custom.<name>__gte|lte|contains=value``."""

    class Meta:
        unknown = ma.INCLUDE

    q = f.String(validate=v.Length(max=200), metadata={"description": "Text in name, email, phone"})
    status = f.String(metadata={"description": "One status or a comma list"})
    kind = f.String(validate=v.OneOf(KINDS))
    tag = f.String(metadata={"description": "Tag name; a comma list means all of them"})
    owner_id = f.Integer()
    company_id = f.Integer()
    source_channel = f.String()
    utm_source = f.String()
    utm_medium = f.String()
    utm_campaign = f.String()
    country = f.String()
    created_after = f.AwareDateTime(default_timezone=dt.timezone.utc)
    created_before = f.AwareDateTime(default_timezone=dt.timezone.utc)
    updated_after = f.AwareDateTime(default_timezone=dt.timezone.utc)
    updated_before = f.AwareDateTime(default_timezone=dt.timezone.utc)
    sort = f.String(metadata={"description": "name, created_at, updated_at, status, id or "
                                             "custom.<name>; prefix - for descending"})

    @ma.validates_schema(pass_original=True)
    def only_custom_unknowns(self, data, original, **kwargs):
        unknown = [k for k in original if k not in self.fields and not k.startswith("custom.")]
        if unknown:
            raise ma.ValidationError({k: ["Unknown filter."] for k in unknown})


class CustomerPage(ma.Schema):
    items = f.List(f.Nested(CustomerOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


class LineIn(ma.Schema):
    sku = _text(100)
    name = _text(300)
    category = _text(100)
    quantity = f.Decimal(as_string=True)
    unit_price = f.Decimal(as_string=True)


class InteractionIn(ma.Schema):
    type = f.String(required=True, validate=v.Length(min=1, max=50))
    channel = _text(50)
    direction = f.String(validate=v.OneOf(DIRECTIONS))
    occurred_at = f.AwareDateTime(default_timezone=dt.timezone.utc)
    actor = _text(200)
    summary = f.String(validate=v.Length(max=20000), allow_none=True)
    payload = f.Dict(allow_none=True)
    amount = f.Decimal(allow_none=True, as_string=True, allow_nan=False)
    currency = f.String(validate=v.Regexp(r"^[A-Za-z]{3}$", error="An ISO 4217 code."),
                        allow_none=True)
    lines = f.List(f.Dict(), validate=v.Length(max=MAX_LINE_ITEMS))
    external_id = _text(200)


class InteractionOut(ma.Schema):
    id = f.Integer()
    customer_id = f.Integer()
    type = f.String()
    channel = f.String(allow_none=True)
    direction = f.String()
    occurred_at = f.AwareDateTime()
    actor = f.String(allow_none=True)
    summary = f.String(allow_none=True)
    payload = f.Dict(allow_none=True)
    amount = f.Decimal(as_string=True, allow_none=True)
    currency = f.String(allow_none=True)
    lines = f.List(f.Dict(), allow_none=True)
    source = f.String()
    external_id = f.String(allow_none=True)
    created_at = f.AwareDateTime()


class InteractionListArgs(PageArgs):
    type = f.String()
    channel = f.String()
    direction = f.String()
    source = f.String()
    occurred_after = f.AwareDateTime(default_timezone=dt.timezone.utc)
    occurred_before = f.AwareDateTime(default_timezone=dt.timezone.utc)


class InteractionPage(ma.Schema):
    items = f.List(f.Nested(InteractionOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


class ProfileOut(ma.Schema):
    customer = f.Nested(CustomerOut)
    company = f.Dict(allow_none=True)
    people = f.List(f.Dict())
    timeline = f.Dict()
    figures = f.Dict()
    sections = f.Dict()


class TagIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))


class TagOut(ma.Schema):
    id = f.Integer()
    name = f.String()
    customers = f.Integer()


class CustomFieldIn(ma.Schema):
    entity = f.String(load_default="customer", validate=v.Length(max=100))
    name = f.String(required=True, validate=v.Length(min=1, max=63))
    label = f.String(validate=v.Length(max=200))
    type = f.String(required=True, validate=v.OneOf(TYPES))
    choices = f.List(f.String(validate=v.Length(min=1, max=200)), validate=v.Length(max=200))
    required = f.Boolean(load_default=False)


class CustomFieldOut(ma.Schema):
    id = f.Integer()
    entity = f.String()
    name = f.String()
    label = f.String()
    type = f.String()
    choices = f.List(f.String())
    required = f.Boolean()
    created_at = f.AwareDateTime()


class CustomFieldArgs(ma.Schema):
    entity = f.String()
