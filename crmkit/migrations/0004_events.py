"""Kernel: the event outbox, jobs, webhooks, outbound email and notifications."""
import datetime

from peewee import (BigAutoField, BigIntegerField, BooleanField, CharField, DateTimeField,
                    ForeignKeyField, IntegerField, Model, TextField, UUIDField)


def up(migrator, db):
    class Event(Model):
        id = BigAutoField()
        uuid = UUIDField(unique=True)
        type = CharField(max_length=100)
        schema_version = IntegerField(default=1)
        occurred_at = DateTimeField(default=datetime.datetime.now)
        subject = CharField(max_length=100, null=True)
        subject_id = CharField(max_length=100, null=True)
        payload = TextField()

        class Meta:
            database = db
            table_name = "event"
            indexes = ((("type", "id"), False),)

    class EventConsumer(Model):
        name = CharField(max_length=100, primary_key=True)
        event_id = BigIntegerField(default=0)
        updated_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            database = db
            table_name = "event_consumer"

    class Job(Model):
        id = BigAutoField()
        task = CharField(max_length=200)
        kwargs = TextField(default="{}")
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        max_attempts = IntegerField(default=5)
        next_attempt_at = DateTimeField(default=datetime.datetime.now)
        lease = CharField(max_length=32, null=True)
        locked_until = DateTimeField(null=True)
        last_error = TextField(null=True)
        dedupe_key = CharField(max_length=300, null=True, unique=True)
        created_at = DateTimeField(default=datetime.datetime.now)
        finished_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "job"
            indexes = ((("status", "next_attempt_at"), False),)

    class WebhookSubscription(Model):
        url = CharField(max_length=2000)
        description = CharField(max_length=300, default="")
        secret = CharField(max_length=200)
        active = BooleanField(default=True)
        disabled_reason = CharField(max_length=300, null=True)
        disabled_at = DateTimeField(null=True)
        consecutive_failures = IntegerField(default=0)
        failing_since = DateTimeField(null=True)
        created_at = DateTimeField(default=datetime.datetime.now)
        updated_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            database = db
            table_name = "webhook_subscription"

    class WebhookSubscriptionType(Model):
        subscription = ForeignKeyField(WebhookSubscription, on_delete="CASCADE")
        pattern = CharField(max_length=100)
        prefix = CharField(max_length=100, null=True)

        class Meta:
            database = db
            table_name = "webhook_subscription_type"
            indexes = ((("subscription", "pattern"), True),)

    class WebhookDelivery(Model):
        id = BigAutoField()
        event = ForeignKeyField(Event, on_delete="CASCADE", field=Event.id)
        subscription = ForeignKeyField(WebhookSubscription, on_delete="CASCADE")
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=datetime.datetime.now)
        lease = CharField(max_length=32, null=True)
        locked_until = DateTimeField(null=True)
        last_status_code = IntegerField(null=True)
        last_error = TextField(null=True)
        delivered_at = DateTimeField(null=True)
        created_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            database = db
            table_name = "webhook_delivery"
            indexes = (
                (("event", "subscription"), True),
                (("status", "next_attempt_at"), False),
                (("subscription", "id"), False),
            )

    class WebhookAttempt(Model):
        id = BigAutoField()
        delivery = ForeignKeyField(WebhookDelivery, on_delete="CASCADE", field=WebhookDelivery.id)
        number = IntegerField()
        attempted_at = DateTimeField(default=datetime.datetime.now)
        status_code = IntegerField(null=True)
        latency_ms = IntegerField()
        error = TextField(null=True)
        succeeded = BooleanField(default=False)

        class Meta:
            database = db
            table_name = "webhook_attempt"
            indexes = ((("delivery", "number"), False),)

    class EmailMessage(Model):
        id = BigAutoField()
        message_id = CharField(max_length=300, unique=True)
        kind = CharField(max_length=100, null=True)
        from_address = CharField(max_length=320, null=True)
        reply_to = CharField(max_length=320, null=True)
        to = TextField()
        cc = TextField(default="[]")
        bcc = TextField(default="[]")
        subject = CharField(max_length=998)
        text_body = TextField(null=True)
        html_body = TextField(null=True)
        headers = TextField(default="{}")
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=datetime.datetime.now)
        lease = CharField(max_length=32, null=True)
        locked_until = DateTimeField(null=True)
        last_error = TextField(null=True)
        sent_at = DateTimeField(null=True)
        created_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            database = db
            table_name = "email_message"
            indexes = ((("status", "next_attempt_at"), False),)

    class User(Model):  # app_user exists already (0003); only its key is needed here
        class Meta:
            database = db
            table_name = "app_user"

    class Notification(Model):
        id = BigAutoField()
        user = ForeignKeyField(User, on_delete="CASCADE")
        kind = CharField(max_length=100)
        message = TextField()
        link = CharField(max_length=2000, null=True)
        created_at = DateTimeField(default=datetime.datetime.now)
        read_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "notification"
            indexes = ((("user", "id"), False), (("user", "read_at"), False))

    class NotificationPreference(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        kind = CharField(max_length=100)
        in_app = BooleanField(default=True)
        email = BooleanField(default=True)
        updated_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            database = db
            table_name = "notification_preference"
            indexes = ((("user", "kind"), True),)

    db.create_tables([Event, EventConsumer, Job, WebhookSubscription, WebhookSubscriptionType,
                      WebhookDelivery, WebhookAttempt, EmailMessage, Notification,
                      NotificationPreference])


def down(migrator, db):
    migrator.migrate(*[migrator.drop_table(name) for name in (
        "notification_preference", "notification", "email_message", "webhook_attempt", "webhook_delivery", "webhook_subscription_type",
        "webhook_subscription", "job", "event_consumer", "event")])
