"""Kernel: users, roles, teams, API tokens, the audit trail, idempotency keys, consent."""
import datetime

from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model,
                    TextField)


def up(migrator, db):
    class Role(Model):
        name = CharField(max_length=64, unique=True)
        description = CharField(max_length=300, default="")
        permissions = TextField(default="[]")
        scope = CharField(max_length=8, default="own")
        builtin = BooleanField(default=False)
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "role"

    class User(Model):
        email = CharField(max_length=254, unique=True)
        name = CharField(max_length=200)
        active = BooleanField(default=True)
        password_hash = CharField(max_length=255, null=True)
        role = ForeignKeyField(Role, on_delete="RESTRICT")
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)
        last_login_at = DateTimeField(null=True)
        deactivated_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "app_user"

    class Team(Model):
        name = CharField(max_length=100, unique=True)
        manager = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "team"

    class TeamMember(Model):
        team = ForeignKeyField(Team, on_delete="CASCADE")
        user = ForeignKeyField(User, on_delete="CASCADE")
        joined_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "team_member"
            indexes = ((("team", "user"), True),)

    class ApiToken(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        name = CharField(max_length=100)
        prefix = CharField(max_length=16, unique=True)
        secret_hash = CharField(max_length=64)
        scopes = TextField(default='["*"]')
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        expires_at = DateTimeField(null=True)
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "api_token"

    class AuditEvent(Model):
        at = DateTimeField(default=datetime.datetime.utcnow, index=True)
        actor_id = IntegerField(null=True, index=True)
        actor = CharField(max_length=254)
        token_id = IntegerField(null=True)
        action = CharField(max_length=60, index=True)
        object_type = CharField(max_length=100)
        object_id = CharField(max_length=64, null=True)
        changes = TextField(null=True)
        detail = TextField(null=True)
        request_id = CharField(max_length=64, null=True, index=True)
        ip = CharField(max_length=45, null=True)

        class Meta:
            database = db
            table_name = "audit_event"
            indexes = ((("object_type", "object_id"), False),)

    class IdempotencyKey(Model):
        owner = CharField(max_length=64)
        key = CharField(max_length=255)
        fingerprint = CharField(max_length=64)
        status_code = IntegerField(null=True)
        response_body = TextField(null=True)
        response_headers = TextField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow, index=True)

        class Meta:
            database = db
            table_name = "idempotency_key"
            indexes = ((("owner", "key"), True),)

    class Consent(Model):
        customer_id = IntegerField()
        channel = CharField(max_length=30)
        granted = BooleanField()
        at = DateTimeField(default=datetime.datetime.utcnow)
        source = CharField(max_length=100)
        recorded_by = CharField(max_length=254)

        class Meta:
            database = db
            table_name = "consent"
            indexes = ((("customer_id", "channel", "at"), False),)

    db.create_tables([Role, User, Team, TeamMember, ApiToken, AuditEvent, IdempotencyKey,
                      Consent])


def down(migrator, db):
    for table in ("consent", "idempotency_key", "audit_event", "api_token", "team_member", "team", "app_user",
                  "role"):
        migrator.migrate(migrator.drop_table(table))
