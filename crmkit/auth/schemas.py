"""Load and dump shapes for users, teams, roles and tokens.

Load schemas hold only what a caller may write; ids, timestamps, password hashes, token prefixes
and hashes are server-owned, and sending them is a 422 (unknown field), never silently ignored.
"""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit.auth.models import SCOPES

_ROLE = f.String(validate=v.Length(min=1, max=64))


class UserIn(ma.Schema):
    email = f.String(required=True, validate=v.Length(min=3, max=254))
    name = f.String(required=True, validate=v.Length(min=1, max=200))
    role = f.String(load_default="agent", validate=v.Length(min=1, max=64))
    password = f.String(load_only=True, validate=v.Length(max=1024),
                        metadata={"description": "At least 10 characters; omit for token-only "
                                                 "accounts"})


class UserPatch(ma.Schema):
    email = f.String(validate=v.Length(min=3, max=254))
    name = f.String(validate=v.Length(min=1, max=200))
    role = _ROLE
    password = f.String(load_only=True, validate=v.Length(max=1024))
    active = f.Boolean()


class UserOut(ma.Schema):
    id = f.Integer()
    email = f.String()
    name = f.String()
    role = f.Function(lambda u: u.role.name)
    active = f.Boolean()
    has_password = f.Function(lambda u: u.password_hash is not None)
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()
    last_login_at = f.AwareDateTime(allow_none=True)
    deactivated_at = f.AwareDateTime(allow_none=True)


class MeOut(ma.Schema):
    id = f.Integer()
    email = f.String()
    name = f.String()
    role = f.String()
    scope = f.String(metadata={"description": "Which records: own, team or all"})
    permissions = f.List(f.String(), metadata={"description": "What this token may do"})
    token_id = f.Integer(allow_none=True)


class PageArgs(ma.Schema):
    cursor = f.String(validate=v.Length(max=500))
    limit = f.Integer(metadata={"description": "Page size; at most CRMKIT_MAX_PAGE_SIZE."})


class UserListArgs(PageArgs):
    active = f.Boolean()
    role = _ROLE


class UserPage(ma.Schema):
    items = f.List(f.Nested(UserOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


class TeamIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    manager_id = f.Integer(allow_none=True, strict=True)


class TeamPatch(ma.Schema):
    name = f.String(validate=v.Length(min=1, max=100))
    manager_id = f.Integer(allow_none=True, strict=True)


class TeamOut(ma.Schema):
    id = f.Integer()
    name = f.String()
    manager_id = f.Integer(allow_none=True)
    member_ids = f.List(f.Integer())
    created_at = f.AwareDateTime()


class MemberIn(ma.Schema):
    user_id = f.Integer(required=True, strict=True)


class RoleIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=2, max=64))
    permissions = f.List(f.String(validate=v.Length(min=1, max=120)), required=True,
                         validate=v.Length(max=500))
    scope = f.String(load_default="own", validate=v.OneOf(SCOPES))
    description = f.String(load_default="", validate=v.Length(max=300))


class RolePatch(ma.Schema):
    permissions = f.List(f.String(validate=v.Length(min=1, max=120)), validate=v.Length(max=500))
    scope = f.String(validate=v.OneOf(SCOPES))
    description = f.String(validate=v.Length(max=300))


class RoleOut(ma.Schema):
    name = f.String()
    description = f.String()
    permissions = f.List(f.String(), metadata={"description": "Patterns as stored"})
    grants = f.List(f.String(), metadata={"description": "Registered permissions they grant"})
    scope = f.String()
    builtin = f.Boolean()


class PermissionOut(ma.Schema):
    name = f.String()
    description = f.String()
    plugin = f.String()


class TokenIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    scopes = f.List(f.String(validate=v.Length(min=1, max=120)), validate=v.Length(min=1, max=100),
                    metadata={"description": "Permission patterns; default ['*'] (everything "
                                             "the user's role allows)"})
    expires_in_days = f.Integer(validate=v.Range(min=1, max=3650), strict=True)
    user_id = f.Integer(strict=True, metadata={"description": "Another user (tokens:manage)"})


class TokenOut(ma.Schema):
    id = f.Integer()
    user_id = f.Integer()
    name = f.String()
    prefix = f.String(metadata={"description": "The public start of the token"})
    scopes = f.List(f.String())
    created_at = f.AwareDateTime()
    expires_at = f.AwareDateTime(allow_none=True)
    last_used_at = f.AwareDateTime(allow_none=True)
    revoked_at = f.AwareDateTime(allow_none=True)


class NewTokenOut(TokenOut):
    token = f.String(metadata={"description": "The token itself; shown this once only"})


class TokenListArgs(ma.Schema):
    user_id = f.Integer(metadata={"description": "Another user's tokens (tokens:manage)"})
    include_revoked = f.Boolean(load_default=False)


class LoginIn(ma.Schema):
    email = f.String(required=True, validate=v.Length(min=1, max=254))
    password = f.String(required=True, load_only=True, validate=v.Length(min=1, max=1024))
    name = f.String(load_default="login", validate=v.Length(min=1, max=100))


def expires_at(days: int | None) -> dt.datetime | None:
    if days is None:
        return None
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
