"""Users and teams: the domain functions both the API and the command line call."""
from __future__ import annotations

import re

import peewee

from crmkit import audit
from crmkit.auth import passwords
from crmkit.auth.models import ApiToken, Team, TeamMember, User
from crmkit.auth.roles import get_role
from crmkit.db import utcnow
from crmkit.errors import Conflict, NotFound, ValidationError

# Deliberately loose: the only reliable check of an address is a message that arrives.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Fields the audit trail shows as changed but never with their values.
_SECRET = {"password_hash"}
_AUDITED = ("email", "name", "active", "role", "password_hash")


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValidationError({"email": "Not a valid email address."})
    return email


def _user_view(user: User) -> dict:
    return {"email": user.email, "name": user.name, "active": user.active,
            "role": user.role.name, "password_hash": user.password_hash}


def get_user(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def find_user(ref: str | int) -> User:
    """A user by id or by email address (the command line accepts either)."""
    if isinstance(ref, int) or str(ref).isdigit():
        return get_user(int(ref))
    user = User.get_or_none(User.email == str(ref).strip().lower())
    if user is None:
        raise NotFound(f"No user with email {ref!r}.")
    return user


def create_user(email: str, name: str, role: str = "agent", password: str | None = None) -> User:
    email = normalise_email(email)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Missing data for required field."})
    role_row = get_role(role)
    if User.select().where(User.email == email).exists():
        raise Conflict(f"A user with email {email!r} exists already.")
    password_hash = passwords.hash_password(password) if password else None
    try:
        with User._meta.database.atomic():
            user = User.create(email=email, name=name, role=role_row, password_hash=password_hash)
    except peewee.IntegrityError:  # a concurrent create won the race for the address
        raise Conflict(f"A user with email {email!r} exists already.") from None
    audit.record("user.create", "user", user.id,
                 changes=audit.diff(None, _user_view(user), _SECRET))
    return user


def list_users(active: bool | None = None, role: str | None = None) -> list[User]:
    query = User.select(User, User.role).join(User.role.rel_model).order_by(User.id)
    if active is not None:
        query = query.where(User.active == active)
    if role is not None:
        query = query.where(User.role.rel_model.name == role)
    return list(query)


def update_user(user: User, *, email: str | None = None, name: str | None = None,
                role: str | None = None, password: str | None = None,
                active: bool | None = None) -> User:
    before = _user_view(user)
    if email is not None:
        email = normalise_email(email)
        if email != user.email and User.select().where(User.email == email).exists():
            raise Conflict(f"A user with email {email!r} exists already.")
        user.email = email
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": "Must not be empty."})
        user.name = name.strip()
    if role is not None:
        user.role = get_role(role)
    if password is not None:
        user.password_hash = passwords.hash_password(password)
    if active is not None and active != user.active:
        user.active = active
        user.deactivated_at = None if active else utcnow()
    changes = audit.diff(before, _user_view(user), _SECRET)
    if changes:
        user.updated_at = utcnow()
        user.save()
        action = "user.role_change" if set(changes) == {"role"} else "user.update"
        audit.record(action, "user", user.id, changes=changes)
    return user


def deactivate_user(user: User) -> User:
    """The user can no longer log in and their tokens stop working at once; records keep their
    owner. Reversible with ``update_user(user, active=True)``."""
    return update_user(user, active=False)


# -- teams -------------------------------------------------------------------------------------

def get_team(ref: str | int) -> Team:
    team = (Team.get_or_none(Team.id == int(ref)) if str(ref).isdigit()
            else Team.get_or_none(Team.name == str(ref)))
    if team is None:
        raise NotFound(f"No team {ref!r}.")
    return team


def create_team(name: str, manager: User | None = None) -> Team:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Use 1-100 characters."})
    if Team.select().where(Team.name == name).exists():
        raise Conflict(f"A team named {name!r} exists already.")
    team = Team.create(name=name, manager=manager)
    audit.record("team.create", "team", team.id, changes={
        "name": [None, name], "manager": [None, manager.id if manager else None]})
    return team


def list_teams() -> list[Team]:
    return list(Team.select().order_by(Team.name))


def team_member_ids(team: Team) -> list[int]:
    return [m.user_id for m in TeamMember.select(TeamMember.user).where(TeamMember.team == team)
            .order_by(TeamMember.user)]


def update_team(team: Team, *, name: str | None = None,
                manager: User | None | bool = False) -> Team:
    """``manager=None`` removes the manager; leaving it out (False) keeps it."""
    changes: dict[str, list] = {}
    if name is not None and name.strip() != team.name:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationError({"name": "Use 1-100 characters."})
        if Team.select().where(Team.name == name, Team.id != team.id).exists():
            raise Conflict(f"A team named {name!r} exists already.")
        changes["name"] = [team.name, name]
        team.name = name
    if manager is not False:
        new_id = manager.id if manager is not None else None
        if new_id != team.manager_id:
            changes["manager"] = [team.manager_id, new_id]
            team.manager = manager
    if changes:
        team.save()
        audit.record("team.update", "team", team.id, changes=changes)
    return team


def add_member(team: Team, user: User) -> None:
    if TeamMember.select().where(TeamMember.team == team, TeamMember.user == user).exists():
        return
    TeamMember.create(team=team, user=user)
    audit.record("team.member_add", "team", team.id, changes={"members": [None, user.id]})


def remove_member(team: Team, user: User) -> None:
    removed = TeamMember.delete().where(TeamMember.team == team,
                                        TeamMember.user == user).execute()
    if not removed:
        raise NotFound(f"User {user.id} is not a member of team {team.name!r}.")
    audit.record("team.member_remove", "team", team.id, changes={"members": [user.id, None]})


def delete_team(team: Team) -> None:
    members = team_member_ids(team)
    team.delete_instance(recursive=True)
    audit.record("team.delete", "team", team.id, changes={
        "name": [team.name, None], "members": [members, None]})


def active_token_count(user: User) -> int:
    return ApiToken.select().where(ApiToken.user == user, ApiToken.revoked_at.is_null()).count()
