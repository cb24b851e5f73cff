"""Kernel: customers, contact points, tags, the interaction timeline and custom fields."""
import datetime

from peewee import (BigIntegerField, BooleanField, CharField, CompositeKey, DateField,
                    DateTimeField, DecimalField, ForeignKeyField, IntegerField, Model, TextField)


def up(migrator, db):
    class Customer(Model):
        kind = CharField(max_length=10, default="person")
        name = CharField(max_length=300)
        first_name = CharField(max_length=150, null=True)
        last_name = CharField(max_length=150, null=True)
        job_title = CharField(max_length=150, null=True)
        company = ForeignKeyField("self", null=True, backref="people", on_delete="SET NULL")
        email = CharField(max_length=320, null=True)
        phone = CharField(max_length=32, null=True, index=True)
        street = CharField(max_length=300, null=True)
        city = CharField(max_length=150, null=True)
        region = CharField(max_length=150, null=True)
        postal_code = CharField(max_length=32, null=True)
        country = CharField(max_length=2, null=True)
        status = CharField(max_length=20, default="potential")
        competitor = CharField(max_length=200, null=True)
        source_channel = CharField(max_length=100, null=True, index=True)
        utm_source = CharField(max_length=200, null=True)
        utm_medium = CharField(max_length=200, null=True)
        utm_campaign = CharField(max_length=200, null=True)
        utm_term = CharField(max_length=200, null=True)
        utm_content = CharField(max_length=200, null=True)
        owner_id = IntegerField(null=True, index=True)
        notes = TextField(null=True)
        merged_into = ForeignKeyField("self", null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "customer"
            indexes = (
                (("name", "id"), False),
                (("created_at", "id"), False),
                (("updated_at", "id"), False),
                (("status", "id"), False),
            )

    class CustomerEmail(Model):
        customer = ForeignKeyField(Customer, on_delete="CASCADE")
        email = CharField(max_length=320)
        email_key = CharField(max_length=320, unique=True)
        is_primary = BooleanField(default=False)
        label = CharField(max_length=50, null=True)

        class Meta:
            database = db
            table_name = "contact_email"

    class CustomerPhone(Model):
        customer = ForeignKeyField(Customer, on_delete="CASCADE")
        number = CharField(max_length=32, index=True)
        is_primary = BooleanField(default=False)
        label = CharField(max_length=50, null=True)

        class Meta:
            database = db
            table_name = "contact_phone"

    class Tag(Model):
        name = CharField(max_length=100)
        name_key = CharField(max_length=100, unique=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "tag"

    class CustomerTag(Model):
        customer = ForeignKeyField(Customer, on_delete="CASCADE")
        tag = ForeignKeyField(Tag, on_delete="CASCADE", index=True)

        class Meta:
            database = db
            table_name = "customer_tag"
            primary_key = CompositeKey("customer", "tag")

    class Interaction(Model):
        customer = ForeignKeyField(Customer, on_delete="CASCADE")
        type = CharField(max_length=50)
        channel = CharField(max_length=50, null=True)
        direction = CharField(max_length=10, default="inbound")
        occurred_at = DateTimeField(default=datetime.datetime.utcnow)
        actor = CharField(max_length=200, null=True)
        summary = TextField(null=True)
        payload = TextField(null=True)
        amount = DecimalField(max_digits=18, decimal_places=4, null=True)
        currency = CharField(max_length=3, null=True)
        lines = TextField(null=True)
        source = CharField(max_length=100, default="api")
        external_id = CharField(max_length=200, null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "interaction"
            indexes = (
                (("customer", "occurred_at"), False),
                (("type", "occurred_at"), False),
                (("source", "external_id"), True),
            )

    class CustomField(Model):
        entity = CharField(max_length=100)
        name = CharField(max_length=63)
        label = CharField(max_length=200)
        type = CharField(max_length=20)
        choices = TextField(null=True)
        required = BooleanField(default=False)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "custom_field"
            indexes = ((("entity", "name"), True),)

    class CustomValue(Model):
        field = ForeignKeyField(CustomField, on_delete="CASCADE")
        record_id = IntegerField()
        text_value = CharField(max_length=1000, null=True)
        int_value = BigIntegerField(null=True)
        decimal_value = DecimalField(max_digits=24, decimal_places=6, null=True)
        date_value = DateField(null=True)
        bool_value = BooleanField(null=True)

        class Meta:
            database = db
            table_name = "custom_value"
            indexes = (
                (("field", "record_id"), False),
                (("field", "text_value"), False),
                (("field", "int_value"), False),
                (("field", "decimal_value"), False),
                (("field", "date_value"), False),
            )

    db.create_tables([Customer, CustomerEmail, CustomerPhone, Tag, CustomerTag, Interaction,
                      CustomField, CustomValue])


def down(migrator, db):
    for table in ("custom_value", "custom_field", "interaction", "customer_tag", "tag",
                  "contact_phone", "contact_email", "customer"):
        migrator.migrate(migrator.drop_table(table))
