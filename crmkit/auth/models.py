"""Users, teams, roles and API tokens.

The user table is ``app_user`` because ``user`` is a reserved word in PostgreSQL. Other kernel and
plugin models point at a user with a foreign key to :class:`User` or a plain integer column
(``owner_id``); both hold ``app_user.id``.
"""
from __future__ import annotations

import peewee

from crmkit.auth.fields import JSONField
from crmkit.db import BaseModel, UTCDateTimeField, utcnow

# Object-level scopes a role can have: a user sees their own records, their teams', or all.
SCOPES = ("own", "team", "all")


class Role(BaseModel):
    """A named set of permission patterns (``customers:read``, ``*:read``, ``!audit:*``)."""

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=300, default="")
    permissions = JSONField(default=list)
    scope = peewee.CharField(max_length=8, default="own")
    builtin = peewee.BooleanField(default=False)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "role"


class User(BaseModel):
    email = peewee.CharField(max_length=254, unique=True)  # stored lower-cased
    name = peewee.CharField(max_length=200)
    active = peewee.BooleanField(default=True)
    # None: the user cannot log in with a password (API-token-only accounts, integrations).
    password_hash = peewee.CharField(max_length=255, null=True)
    role = peewee.ForeignKeyField(Role, backref="users", on_delete="RESTRICT")
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    last_login_at = UTCDateTimeField(null=True)
    deactivated_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "app_user"

    def __str__(self) -> str:
        return self.email


class Team(BaseModel):
    name = peewee.CharField(max_length=100, unique=True)
    manager = peewee.ForeignKeyField(User, null=True, backref="managed_teams", on_delete="SET NULL")
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "team"


class TeamMember(BaseModel):
    team = peewee.ForeignKeyField(Team, backref="memberships", on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    joined_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "team_member"
        indexes = ((("team", "user"), True),)


class ApiToken(BaseModel):
    """A bearer token. Only a hash of the secret is stored; the token is shown once."""

    user = peewee.ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = peewee.CharField(max_length=100)
    # The public, non-secret part of the token: finds the row without scanning hashes.
    prefix = peewee.CharField(max_length=16, unique=True)
    secret_hash = peewee.CharField(max_length=64)
    scopes = JSONField(default=lambda: ["*"])
    created_at = UTCDateTimeField(default=utcnow)
    expires_at = UTCDateTimeField(null=True)
    last_used_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "api_token"


MODELS = [Role, User, Team, TeamMember, ApiToken]
