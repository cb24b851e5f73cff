"""Who is acting: the user, their role and, for API calls, the token they presented.

Domain code asks :func:`current_principal` instead of taking Flask's request: the API sets it per
request, the command line and jobs leave it unset (``None``: the operator of the installation, with
no restrictions), and :func:`acting_as` sets it explicitly, for example in a job run on behalf of a
user.
"""
from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from flask import g, has_request_context

from crmkit.auth.models import ApiToken, Team, TeamMember, User
from crmkit.auth.roles import grants

if TYPE_CHECKING:
    from crmkit.auth.tokens import Verified

_acting: ContextVar[Principal | None] = ContextVar("crmkit_principal", default=None)


@dataclass
class Principal:
    user_id: int
    email: str
    role: str
    role_patterns: tuple[str, ...]
    scope: str  # own, team or all
    token_id: int | None = None
    # What the credential itself allows (a token's scopes); the user's role still applies.
    credential_patterns: tuple[str, ...] = ("*",)
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def for_user(cls, user: User, token: ApiToken | None = None) -> Principal:
        role = user.role
        return cls(user_id=user.id, email=user.email, role=role.name,
                   role_patterns=tuple(role.permissions), scope=role.scope,
                   token_id=token.id if token is not None else None,
                   credential_patterns=tuple(token.scopes) if token is not None else ("*",))

    @classmethod
    def for_token(cls, token: Verified) -> Principal:
        """The principal of a verified API token (no further query)."""
        return cls(user_id=token.user_id, email=token.email, role=token.role,
                   role_patterns=token.role_permissions, scope=token.role_scope,
                   token_id=token.token_id, credential_patterns=token.scopes)

    def can(self, permission: str) -> bool:
        return grants(self.role_patterns, permission) and grants(self.credential_patterns,
                                                                 permission)

    @property
    def unrestricted(self) -> bool:
        """Granted everything, present and future (the admin role with an all-scopes token)."""
        return ("*" in self.role_patterns and "*" in self.credential_patterns
                and not any(p.startswith("!") for p in self.role_patterns
                            + self.credential_patterns))

    @property
    def label(self) -> str:
        return self.email

    @cached_property
    def team_ids(self) -> frozenset[int]:
        """Teams the user belongs to or manages."""
        member = TeamMember.select(TeamMember.team).where(TeamMember.user == self.user_id)
        managed = Team.select(Team.id).where(Team.manager == self.user_id)
        return frozenset([m.team_id for m in member] + [t.id for t in managed])

    @cached_property
    def team_user_ids(self) -> frozenset[int]:
        """The user and everyone in a team the user belongs to or manages."""
        ids = {self.user_id}
        if self.team_ids:
            ids.update(m.user_id for m in TeamMember.select(TeamMember.user).where(
                TeamMember.team.in_(list(self.team_ids))))
            ids.update(t.manager_id for t in Team.select(Team.manager).where(
                Team.id.in_(list(self.team_ids)), Team.manager.is_null(False)))
        return frozenset(ids)


def current_principal() -> Principal | None:
    """The principal of this request or block; None for the operator (CLI, jobs)."""
    if has_request_context() and "crmkit_principal" in g:
        return g.crmkit_principal
    return _acting.get()


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    token = _acting.set(principal)
    try:
        yield
    finally:
        _acting.reset(token)


def operator_label() -> str:
    """How the audit trail names someone acting from the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"
