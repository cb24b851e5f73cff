"""Roles: named sets of permission patterns with an object-level scope.

A pattern is a permission name (``customers:read``), a glob over names (``*:read``,
``sales.*:write``, ``*``), or an exclusion starting with ``!`` (``!audit:*``). A role grants a
permission when one of its patterns matches it and no exclusion does. Patterns rather than lists
keep the built-in roles right for plugins installed later: ``*:read`` covers their permissions too.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from crmkit import audit
from crmkit.auth.models import SCOPES, Role, User
from crmkit.db import utcnow
from crmkit.errors import Conflict, NotFound, ValidationError

_PATTERN = re.compile(r"^!?[a-z0-9_.*]+(:[a-z0-9_*]+)?$")
_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")

# Administration of the installation itself; only admins hold these.
_ADMIN_ONLY = ("!users:manage", "!roles:manage", "!tokens:manage", "!plugins:manage",
               "!audit:read")


@dataclass(frozen=True)
class BuiltinRole:
    name: str
    description: str
    permissions: tuple[str, ...]
    scope: str


BUILTIN_ROLES: dict[str, BuiltinRole] = {r.name: r for r in (
    BuiltinRole("admin", "Everything, including users, roles, plugins and the audit trail",
                ("*",), "all"),
    BuiltinRole("manager", "Reads and changes the records of their teams; no administration",
                ("*",) + _ADMIN_ONLY, "team"),
    BuiltinRole("agent", "Reads and changes their own records",
                ("*:read", "*:write", "!customers:reassign") + _ADMIN_ONLY, "own"),
    BuiltinRole("read-only", "Reads every record, changes nothing", ("*:read", "!audit:read"),
                "all"),
    BuiltinRole("integration", "Machine accounts syncing data in and out: reads and writes all "
                "records, no administration", ("*:read", "*:write") + _ADMIN_ONLY, "all"),
)}


def grants(patterns: Iterable[str], permission: str) -> bool:
    """True when ``patterns`` allow ``permission`` (see the module docstring)."""
    allowed = False
    for pattern in patterns:
        if pattern.startswith("!"):
            if fnmatchcase(permission, pattern[1:]):
                return False
        elif not allowed and fnmatchcase(permission, pattern):
            allowed = True
    return allowed


def expand(patterns: Iterable[str], known: Iterable[str]) -> list[str]:
    """The known permission names that ``patterns`` grant, sorted."""
    patterns = list(patterns)
    return sorted(name for name in known if grants(patterns, name))


def validate_patterns(patterns: Iterable[str], known: Iterable[str]) -> list[str]:
    """Well-formed patterns; an exact name must be a registered permission (typos are errors)."""
    known = set(known)
    cleaned, problems = [], []
    for pattern in patterns:
        pattern = str(pattern).strip()
        if not _PATTERN.match(pattern):
            problems.append(f"{pattern!r} is not a permission pattern")
        elif "*" not in pattern and pattern.lstrip("!") not in known:
            problems.append(f"{pattern.lstrip('!')!r} is not a registered permission")
        elif pattern not in cleaned:
            cleaned.append(pattern)
    if problems:
        raise ValidationError({"permissions": problems})
    return cleaned


def ensure_builtin_roles() -> None:
    """Create the built-in roles that are missing, and bring changed ones up to this version."""
    existing = {r.name: r for r in Role.select().where(Role.name.in_(list(BUILTIN_ROLES)))}
    for spec in BUILTIN_ROLES.values():
        row = existing.get(spec.name)
        if row is None:
            Role.insert(name=spec.name, description=spec.description,
                        permissions=list(spec.permissions), scope=spec.scope,
                        builtin=True).on_conflict_ignore().execute()
        elif (row.permissions, row.scope, row.builtin) != (list(spec.permissions), spec.scope,
                                                           True):
            Role.update(permissions=list(spec.permissions), scope=spec.scope, builtin=True,
                        description=spec.description, updated_at=utcnow()).where(
                Role.id == row.id).execute()


def get_role(name: str) -> Role:
    if name in BUILTIN_ROLES:
        ensure_builtin_roles()
    role = Role.get_or_none(Role.name == name)
    if role is None:
        raise NotFound(f"No role named {name!r}.")
    return role


def list_roles() -> list[Role]:
    ensure_builtin_roles()
    return list(Role.select().order_by(Role.builtin.desc(), Role.name))


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise ValidationError({"scope": f"Must be one of: {', '.join(SCOPES)}."})


def create_role(name: str, permissions: Iterable[str], known: Iterable[str], scope: str = "own",
                description: str = "") -> Role:
    if not _ROLE_NAME.match(name):
        raise ValidationError({"name": "Use 2-64 lower-case letters, digits, '-' or '_', "
                                       "starting with a letter."})
    _check_scope(scope)
    patterns = validate_patterns(permissions, known)
    ensure_builtin_roles()
    if Role.select().where(Role.name == name).exists():
        raise Conflict(f"A role named {name!r} exists already.")
    role = Role.create(name=name, permissions=patterns, scope=scope, description=description)
    audit.record("role.create", "role", role.id, changes={
        "name": [None, name], "permissions": [None, patterns], "scope": [None, scope]})
    return role


def update_role(name: str, known: Iterable[str], permissions: Iterable[str] | None = None,
                scope: str | None = None, description: str | None = None) -> Role:
    role = get_role(name)
    if role.builtin:
        raise Conflict(f"The built-in role {name!r} cannot be changed; create a custom role.")
    changes: dict[str, list] = {}
    if permissions is not None:
        patterns = validate_patterns(permissions, known)
        if patterns != role.permissions:
            changes["permissions"] = [role.permissions, patterns]
            role.permissions = patterns
    if scope is not None and scope != role.scope:
        _check_scope(scope)
        changes["scope"] = [role.scope, scope]
        role.scope = scope
    if description is not None and description != role.description:
        changes["description"] = [role.description, description]
        role.description = description
    if changes:
        role.updated_at = utcnow()
        role.save()
        audit.record("role.update", "role", role.id, changes=changes)
    return role


def delete_role(name: str) -> None:
    role = get_role(name)
    if role.builtin:
        raise Conflict(f"The built-in role {name!r} cannot be deleted.")
    holders = User.select().where(User.role == role).count()
    if holders:
        raise Conflict(f"The role {name!r} is held by {holders} user(s); give them another role "
                       "first.")
    role.delete_instance()
    audit.record("role.delete", "role", role.id, changes={
        "name": [name, None], "permissions": [role.permissions, None]})
