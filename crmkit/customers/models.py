"""Customer data: people and companies, their contact points, tags, custom values and timeline."""
from __future__ import annotations

import peewee

from crmkit.db import BaseModel, MoneyField, UTCDateTimeField, utcnow

PERSON, COMPANY = "person", "company"
KINDS = (PERSON, COMPANY)
STATUSES = ("potential", "prospect", "active", "inactive", "churned")
DIRECTIONS = ("inbound", "outbound", "internal")


class Customer(BaseModel):
    kind = peewee.CharField(max_length=10, default=PERSON)
    # The display name: "First Last" for people, the company name for companies. Always set, so
    # it can be sorted on and searched without COALESCE.
    name = peewee.CharField(max_length=300)
    first_name = peewee.CharField(max_length=150, null=True)
    last_name = peewee.CharField(max_length=150, null=True)
    job_title = peewee.CharField(max_length=150, null=True)
    company = peewee.ForeignKeyField("self", null=True, backref="people", on_delete="SET NULL")
    # Primary contact points, copied from the contact tables for listing and search.
    email = peewee.CharField(max_length=320, null=True)
    phone = peewee.CharField(max_length=32, null=True, index=True)
    street = peewee.CharField(max_length=300, null=True)
    city = peewee.CharField(max_length=150, null=True)
    region = peewee.CharField(max_length=150, null=True)
    postal_code = peewee.CharField(max_length=32, null=True)
    country = peewee.CharField(max_length=2, null=True)  # ISO 3166-1 alpha-2
    status = peewee.CharField(max_length=20, default="potential")
    # A potential customer may buy from a competitor today; who, if known.
    competitor = peewee.CharField(max_length=200, null=True)
    source_channel = peewee.CharField(max_length=100, null=True, index=True)
    utm_source = peewee.CharField(max_length=200, null=True)
    utm_medium = peewee.CharField(max_length=200, null=True)
    utm_campaign = peewee.CharField(max_length=200, null=True)
    utm_term = peewee.CharField(max_length=200, null=True)
    utm_content = peewee.CharField(max_length=200, null=True)
    owner_id = peewee.IntegerField(null=True, index=True)
    notes = peewee.TextField(null=True)
    # Set when this record was folded into another; the row stays so its id can point there.
    merged_into = peewee.ForeignKeyField("self", null=True, on_delete="SET NULL")
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "customer"
        # (sort key, id) pairs: keyset pagination walks these, so deep pages stay cheap.
        indexes = (
            (("name", "id"), False),
            (("created_at", "id"), False),
            (("updated_at", "id"), False),
            (("status", "id"), False),
        )


class CustomerEmail(BaseModel):
    customer = peewee.ForeignKeyField(Customer, backref="emails", on_delete="CASCADE")
    email = peewee.CharField(max_length=320)
    # Lower-cased: one address belongs to one customer, whatever its case.
    email_key = peewee.CharField(max_length=320, unique=True)
    is_primary = peewee.BooleanField(default=False)
    label = peewee.CharField(max_length=50, null=True)

    class Meta:
        table_name = "contact_email"


class CustomerPhone(BaseModel):
    customer = peewee.ForeignKeyField(Customer, backref="phones", on_delete="CASCADE")
    number = peewee.CharField(max_length=32, index=True)  # E.164
    is_primary = peewee.BooleanField(default=False)
    label = peewee.CharField(max_length=50, null=True)

    class Meta:
        table_name = "contact_phone"


class Tag(BaseModel):
    name = peewee.CharField(max_length=100)
    name_key = peewee.CharField(max_length=100, unique=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "tag"


class CustomerTag(BaseModel):
    customer = peewee.ForeignKeyField(Customer, on_delete="CASCADE")
    tag = peewee.ForeignKeyField(Tag, on_delete="CASCADE", index=True)

    class Meta:
        table_name = "customer_tag"
        primary_key = peewee.CompositeKey("customer", "tag")


class Interaction(BaseModel):
    """One entry of a customer's timeline. Append-only: never updated, never deleted."""

    customer = peewee.ForeignKeyField(Customer, backref="interactions", on_delete="CASCADE")
    type = peewee.CharField(max_length=50)
    channel = peewee.CharField(max_length=50, null=True)
    direction = peewee.CharField(max_length=10, default="inbound")
    occurred_at = UTCDateTimeField(default=utcnow)
    actor = peewee.CharField(max_length=200, null=True)
    summary = peewee.TextField(null=True)
    payload = peewee.TextField(null=True)  # JSON
    amount = MoneyField(null=True)
    currency = peewee.CharField(max_length=3, null=True)
    lines = peewee.TextField(null=True)  # JSON list of line items
    # Who recorded it: "api", "import", or a plugin name; with external_id it makes recording
    # idempotent (a plugin re-delivering the same purchase does not count it twice).
    source = peewee.CharField(max_length=100, default="api")
    external_id = peewee.CharField(max_length=200, null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "interaction"
        indexes = (
            (("customer", "occurred_at"), False),
            (("type", "occurred_at"), False),
            (("source", "external_id"), True),
        )


class NotDuplicate(BaseModel):
    """Two customers a user checked and found to be different people or companies: the pair is
    no longer offered as a duplicate candidate."""

    # The pair in id order, so that (a, b) and (b, a) are one row.
    customer_low = peewee.ForeignKeyField(Customer, backref="+", on_delete="CASCADE")
    customer_high = peewee.ForeignKeyField(Customer, backref="+", on_delete="CASCADE")
    created_by = peewee.IntegerField(null=True)  # app_user.id; None from the command line
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "customer_not_duplicate"
        indexes = ((("customer_low", "customer_high"), True),)
