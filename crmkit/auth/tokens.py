"""API tokens: created, shown once, stored hashed, checked in constant time, revoked.

A token reads ``crmkit_<prefix>_<secret>``. The prefix is public: it finds the row and shows up in
listings so people can tell their tokens apart. The secret is 256 random bits and only its SHA-256
is stored. A fast hash is right here, unlike for passwords: nobody can guess 256 random bits, so a
slow hash would buy no safety and cost every API call tens of milliseconds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from crmkit import audit
from crmkit.auth import passwords
from crmkit.auth.models import ApiToken, Role, User
from crmkit.db import utcnow
from crmkit.errors import NotFound, Unauthorized, ValidationError
from crmkit.prepared import Prepared

TOKEN_PREFIX = "crmkit"
_TOKEN = re.compile(r"^crmkit_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# last_used_at is written at most this often per token: a busy token must not turn every read
# request into a write.
TOUCH_INTERVAL = dt.timedelta(seconds=60)
LOGIN_TOKEN_LIFETIME = dt.timedelta(hours=12)
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user: User, name: str, scopes: Iterable[str] = ("*",),
                 expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the plaintext token, which is never
    stored and cannot be shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Use 1-100 characters."})
    scopes = [str(s).strip() for s in scopes if str(s).strip()] or ["*"]
    from crmkit.auth.roles import _PATTERN
    bad = [s for s in scopes if not _PATTERN.match(s)]
    if bad:
        raise ValidationError({"scopes": [f"{s!r} is not a permission pattern" for s in bad]})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError({"expires_at": "Must be in the future."})
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    token = ApiToken.create(user=user, name=name, prefix=prefix, secret_hash=_hash(secret),
                            scopes=scopes, expires_at=expires_at)
    audit.record("token.create", "api_token", token.id, changes={
        "user": [None, user.id], "name": [None, name], "scopes": [None, scopes],
        "expires_at": [None, expires_at]})
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


@dataclass(frozen=True)
class Verified:
    """What a request needs to know about a valid token: its own and its user's facts."""

    token_id: int
    scopes: tuple[str, ...]
    last_used_at: dt.datetime | None
    user_id: int
    email: str
    role: str
    role_permissions: tuple[str, ...]
    role_scope: str


# One query for the token, its user and the user's role, composed once: this runs on every
# request, and having peewee compose it each time cost more than running it.
_BY_PREFIX = Prepared(lambda: (
    ApiToken.select(ApiToken.id, ApiToken.secret_hash, ApiToken.scopes, ApiToken.expires_at,
                    ApiToken.last_used_at, ApiToken.revoked_at, User.id.alias("user_id"),
                    User.email, User.active, Role.name, Role.permissions, Role.scope)
    .join(User).join(Role).where(ApiToken.prefix == "")))


def verify(presented: str) -> Verified:
    """The facts of a valid token, or :class:`Unauthorized` saying why (never which part was
    wrong for an unknown token). Reads the database every time, so a revoked or expired token, a
    deactivated user or a changed role takes effect on the next request."""
    match = _TOKEN.match(presented or "")
    row = _BY_PREFIX.first(match.group(1)) if match else None
    expected = row["secret_hash"] if row is not None else _DUMMY_HASH
    presented_hash = _hash(match.group(2) if match else presented or "")
    # Compare even when no row was found, so timing says nothing about which prefixes exist.
    if not hmac.compare_digest(expected, presented_hash) or row is None:
        raise Unauthorized("The token is not valid.")
    if row["revoked_at"] is not None:
        raise Unauthorized("The token has been revoked.")
    if row["expires_at"] is not None and row["expires_at"] <= utcnow():
        raise Unauthorized("The token has expired.")
    if not row["active"]:
        raise Unauthorized("The token's user is deactivated.")
    return Verified(token_id=row["id"], scopes=tuple(row["scopes"]),
                    last_used_at=row["last_used_at"], user_id=row["user_id"],
                    email=row["email"], role=row["name"],
                    role_permissions=tuple(row["permissions"]), role_scope=row["scope"])


def authenticate(presented: str) -> tuple[ApiToken, User]:
    """The token and its user as models (with the user's role), or :class:`Unauthorized`."""
    verified = verify(presented)
    token = (ApiToken.select(ApiToken, User, Role).join(User).join(Role)
             .where(ApiToken.id == verified.token_id).get())
    return token, token.user


def touch(token: ApiToken | Verified) -> None:
    """Record that the token was used, at most once per :data:`TOUCH_INTERVAL`."""
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        token_id = token.token_id if isinstance(token, Verified) else token.id
        ApiToken.update(last_used_at=now).where(ApiToken.id == token_id).execute()
        if isinstance(token, ApiToken):
            token.last_used_at = now


def get_token(token_id: int, user: User | None = None) -> ApiToken:
    query = ApiToken.select().where(ApiToken.id == token_id)
    if user is not None:
        query = query.where(ApiToken.user == user)
    token = query.first()
    if token is None:
        raise NotFound(f"No token with id {token_id}.")
    return token


def list_tokens(user: User | None = None, include_revoked: bool = False) -> list[ApiToken]:
    query = ApiToken.select(ApiToken, User).join(User).order_by(ApiToken.id)
    if user is not None:
        query = query.where(ApiToken.user == user)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_null())
    return list(query)


def revoke_token(token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        ApiToken.update(revoked_at=token.revoked_at).where(ApiToken.id == token.id).execute()
        audit.record("token.revoke", "api_token", token.id,
                     changes={"revoked_at": [None, token.revoked_at]})
    return token


def login(email: str, password: str, name: str = "login",
          lifetime: dt.timedelta = LOGIN_TOKEN_LIFETIME) -> tuple[ApiToken, str]:
    """Exchange an email and password for a short-lived token.

    A failure says only "wrong email or password". The caller records the failure in a
    transaction of its own (the request that failed stores nothing).
    """
    user = User.get_or_none(User.email == (email or "").strip().lower())
    ok = passwords.verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        raise Unauthorized("Wrong email or password.")
    now = utcnow()
    changes = {"last_login_at": now}
    if passwords.needs_rehash(user.password_hash):
        changes["password_hash"] = passwords.hash_password(password)
    User.update(**changes).where(User.id == user.id).execute()
    from crmkit.auth.principal import Principal, acting_as
    with acting_as(Principal.for_user(user)):
        return create_token(user, name, expires_at=now + lifetime)
