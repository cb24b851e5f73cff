"""Users as sales sees them: who is acting, who holds a role, who manages whom.

Users, teams and roles belong to the kernel (``crmkit.auth``); this module only reads them.
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager

from flask import g, has_request_context

from crmkit.auth.models import Role, Team, TeamMember, User
from crmkit.auth.principal import acting_as, current_principal
from crmkit.errors import ValidationError


def acting_user_id() -> int | None:
    """The user behind this request, or None for the operator (command line, jobs)."""
    principal = current_principal()
    return principal.user_id if principal is not None else None


def active_user_ids(ids) -> set[int]:
    ids = [i for i in ids if i is not None]
    if not ids:
        return set()
    active = User.active == True  # noqa: E712
    return {u for (u,) in User.select(User.id).where(User.id.in_(ids), active).tuples()}


def check_user(user_id: int | None, field: str, errors: dict) -> None:
    if user_id is not None and not active_user_ids([user_id]):
        errors[field] = f"No active user with id {user_id}."


def users_with_role(role: str) -> list[int]:
    return [u for (u,) in User.select(User.id).join(Role)
            .where(Role.name == role, User.active == True)  # noqa: E712
            .order_by(User.id).tuples()]


def team_members(team_id: int) -> list[int]:
    """Active members of a team, in a stable order (round-robin walks it)."""
    return [u for (u,) in TeamMember.select(TeamMember.user).join(User)
            .where(TeamMember.team == team_id, User.active == True)  # noqa: E712
            .order_by(User.id).tuples()]


def team_exists(team_id: int) -> bool:
    return Team.select().where(Team.id == team_id).exists()


def managers_of(user_id: int) -> list[int]:
    """Active managers of every team the user belongs to (not the user themself)."""
    teams = TeamMember.select(TeamMember.team).where(TeamMember.user == user_id)
    managers = {m for (m,) in Team.select(Team.manager)
                .where(Team.id.in_(teams), Team.manager.is_null(False)).tuples()}
    managers.discard(user_id)
    return sorted(active_user_ids(managers))


def team_of(user_id: int | None) -> int | None:
    """The first team a user belongs to: a deal owned by them belongs to it for team scopes."""
    if user_id is None:
        return None
    row = (TeamMember.select(TeamMember.team).where(TeamMember.user == user_id)
           .order_by(TeamMember.team).first())
    return row.team_id if row is not None else None


def user_names(ids) -> dict[int, str]:
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    return dict(User.select(User.id, User.name).where(User.id.in_(ids)).tuples())


def require_role_name(role: str, field: str) -> None:
    if not Role.select().where(Role.name == role).exists():
        from crmkit.auth.roles import BUILTIN_ROLES
        if role not in BUILTIN_ROLES:
            raise ValidationError({field: f"No role named {role!r}."})


@contextmanager
def seeing_all():
    """Lift the caller's object-level scope, keeping who they are, for the kernel calls sales
    makes on a deal's behalf: the revenue of a won deal goes on the customer's timeline even when
    the deal's owner may not see that customer, and a converted lead joins the existing customer
    with its email rather than duplicating it. Permissions and the audit trail's "who" stay."""
    principal = current_principal()
    if principal is None or principal.scope == "all":
        yield
        return
    with _as(dataclasses.replace(principal, scope="all")):
        yield


@contextmanager
def as_operator():
    """Act as the installation itself (no user), as the command line and jobs do: for public
    endpoints such as the web-form intake, which have no user but must create records."""
    with _as(None):
        yield


@contextmanager
def _as(principal):
    if not has_request_context():
        with acting_as(principal):
            yield
        return
    had = "crmkit_principal" in g
    saved = g.get("crmkit_principal")
    g.crmkit_principal = principal  # None in g means "the operator", not "nobody"
    try:
        yield
    finally:
        if had:
            g.crmkit_principal = saved
        else:
            g.pop("crmkit_principal", None)
