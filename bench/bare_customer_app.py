"""The floor for GET /api/v1/customers/{id}: Flask + peewee + marshmallow and nothing else.

It does the job crmkit's endpoint does, written plainly in one file: check the bearer token against
the ``api_token`` table (lookup by prefix, SHA-256 compare, revoked, expired and deactivated
checks), read the customer, its emails, phones, tags and custom values, and dump them with a
marshmallow schema of the same shape. One connection per process, opened on first use.

Served by gunicorn from bench/customer_api.py; ``BARE_DATABASE_URL`` names the database.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re

import marshmallow as ma
import peewee
from flask import Flask, jsonify, request
from playhouse.db_url import connect

_url = os.environ["BARE_DATABASE_URL"]
if _url.startswith("sqlite"):
    db = connect(_url, pragmas={"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000,
                                "synchronous": "normal"})
else:
    db = connect(_url, prefer_psycopg3=True)


class Base(peewee.Model):
    class Meta:
        database = db


class User(Base):
    active = peewee.BooleanField()

    class Meta:
        table_name = "app_user"


class ApiToken(Base):
    user = peewee.ForeignKeyField(User)
    prefix = peewee.CharField()
    secret_hash = peewee.CharField()
    expires_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "api_token"


class Customer(Base):
    kind = peewee.CharField()
    name = peewee.CharField()
    first_name = peewee.CharField(null=True)
    last_name = peewee.CharField(null=True)
    job_title = peewee.CharField(null=True)
    company_id = peewee.IntegerField(null=True)
    street = peewee.CharField(null=True)
    city = peewee.CharField(null=True)
    region = peewee.CharField(null=True)
    postal_code = peewee.CharField(null=True)
    country = peewee.CharField(null=True)
    status = peewee.CharField()
    competitor = peewee.CharField(null=True)
    source_channel = peewee.CharField(null=True)
    utm_source = peewee.CharField(null=True)
    utm_medium = peewee.CharField(null=True)
    utm_campaign = peewee.CharField(null=True)
    utm_term = peewee.CharField(null=True)
    utm_content = peewee.CharField(null=True)
    owner_id = peewee.IntegerField(null=True)
    notes = peewee.TextField(null=True)
    merged_into_id = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "customer"


class Email(Base):
    customer_id = peewee.IntegerField()
    email = peewee.CharField()
    is_primary = peewee.BooleanField()

    class Meta:
        table_name = "contact_email"


class Phone(Base):
    customer_id = peewee.IntegerField()
    number = peewee.CharField()
    is_primary = peewee.BooleanField()

    class Meta:
        table_name = "contact_phone"


class Tag(Base):
    name = peewee.CharField()

    class Meta:
        table_name = "tag"


class CustomerTag(Base):
    customer_id = peewee.IntegerField()
    tag = peewee.ForeignKeyField(Tag)

    class Meta:
        table_name = "customer_tag"
        primary_key = peewee.CompositeKey("customer_id", "tag")


class CustomField(Base):
    name = peewee.CharField()
    type = peewee.CharField()
    entity = peewee.CharField()

    class Meta:
        table_name = "custom_field"


class CustomValue(Base):
    field = peewee.ForeignKeyField(CustomField)
    record_id = peewee.IntegerField()
    text_value = peewee.CharField(null=True)
    int_value = peewee.BigIntegerField(null=True)
    decimal_value = peewee.DecimalField(null=True)
    date_value = peewee.DateField(null=True)
    bool_value = peewee.BooleanField(null=True)

    class Meta:
        table_name = "custom_value"


class CustomerOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String()
    first_name = ma.fields.String(allow_none=True)
    last_name = ma.fields.String(allow_none=True)
    job_title = ma.fields.String(allow_none=True)
    company_id = ma.fields.Integer(allow_none=True)
    email = ma.fields.String(allow_none=True)
    other_emails = ma.fields.List(ma.fields.String())
    phone = ma.fields.String(allow_none=True)
    other_phones = ma.fields.List(ma.fields.String())
    street = ma.fields.String(allow_none=True)
    city = ma.fields.String(allow_none=True)
    region = ma.fields.String(allow_none=True)
    postal_code = ma.fields.String(allow_none=True)
    country = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    competitor = ma.fields.String(allow_none=True)
    source_channel = ma.fields.String(allow_none=True)
    utm_source = ma.fields.String(allow_none=True)
    utm_medium = ma.fields.String(allow_none=True)
    utm_campaign = ma.fields.String(allow_none=True)
    utm_term = ma.fields.String(allow_none=True)
    utm_content = ma.fields.String(allow_none=True)
    owner_id = ma.fields.Integer(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    tags = ma.fields.List(ma.fields.String())
    custom = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


SCHEMA = CustomerOut()
TOKEN = re.compile(r"^crmkit_([0-9a-f]{12})_([A-Za-z0-9_-]+)$")
COLUMNS = {"text": "text_value", "choice": "text_value", "multi_choice": "text_value",
           "number": "int_value", "decimal": "decimal_value", "date": "date_value",
           "boolean": "bool_value"}
app = Flask(__name__)


def authenticated() -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    match = TOKEN.match(value.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        return False
    token = (ApiToken.select(ApiToken, User).join(User)
             .where(ApiToken.prefix == match.group(1)).first())
    if token is None:
        return False
    presented = hashlib.sha256(match.group(2).encode()).hexdigest()
    now = dt.datetime.utcnow()
    return (hmac.compare_digest(token.secret_hash, presented) and token.revoked_at is None
            and (token.expires_at is None or token.expires_at > now) and token.user.active)


@app.get("/api/v1/customers/<int:customer_id>")
def customer(customer_id: int):
    db.connect(reuse_if_open=True)
    if not authenticated():
        return jsonify({"message": "unauthorized"}), 401
    row = Customer.get_or_none((Customer.id == customer_id) & Customer.merged_into_id.is_null())
    if row is None:
        return jsonify({"message": "not found"}), 404
    data = {name: getattr(row, name) for name in SCHEMA.fields
            if name not in ("email", "other_emails", "phone", "other_phones", "tags", "custom")}
    emails = [e.email for e in Email.select(Email.email).where(Email.customer_id == row.id)
              .order_by(Email.is_primary.desc(), Email.id)]
    phones = [p.number for p in Phone.select(Phone.number).where(Phone.customer_id == row.id)
              .order_by(Phone.is_primary.desc(), Phone.id)]
    data.update(email=emails[0] if emails else None, other_emails=emails[1:],
                phone=phones[0] if phones else None, other_phones=phones[1:])
    data["tags"] = [t.name for t in Tag.select(Tag.name).join(CustomerTag)
                    .where(CustomerTag.customer_id == row.id).order_by(Tag.name)]
    custom = {}
    for value in (CustomValue.select(CustomValue, CustomField).join(CustomField)
                  .where((CustomField.entity == "customer")
                         & (CustomValue.record_id == row.id))):
        custom[value.field.name] = getattr(value, COLUMNS[value.field.type])
    data["custom"] = custom
    return jsonify(SCHEMA.dump(data))


@app.get("/healthz")
def healthz():
    """What the benchmark polls to know the server is up."""
    return {"status": "ok"}
