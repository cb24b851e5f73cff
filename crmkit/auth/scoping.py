"""Object-level access: which records with an owner (or a team) a principal may see and change.

A model opts in by having an integer ``owner_id`` column holding ``app_user.id`` (and, if records
can belong to a team, a ``team_id`` column), or by naming other columns::

    class Deal(BaseModel):
        owner_id = peewee.IntegerField(null=True, index=True)
        access_owner_field = "owner_id"      # the default; set None to opt out
        access_team_field = None             # e.g. "team_id"

Then every query a door runs for a principal goes through :func:`visible`, and single records
through :func:`get_visible`. The role's scope decides:

- ``all``: every record;
- ``team``: records owned by the user or by anyone in a team the user belongs to or manages,
  and records assigned to one of those teams;
- ``own``: records the user owns.

Records without an owner are visible to ``all`` scopes only. Another owner's record answers 404,
exactly like a missing one, so ids reveal nothing. The operator (command line, jobs: no principal)
sees everything; a request without a principal sees nothing.
"""
from __future__ import annotations

from typing import Any, TypeVar

import peewee
from flask import has_request_context

from crmkit.auth.principal import Principal, current_principal
from crmkit.errors import Forbidden, NotFound, Unauthorized, ValidationError

M = TypeVar("M", bound=peewee.Model)


def _field(model: type[peewee.Model], attr: str, default: str | None) -> peewee.Field | None:
    name = getattr(model, attr, default)
    if name is None:
        return None
    return model._meta.fields.get(name)


def owner_field(model: type[peewee.Model]) -> peewee.Field | None:
    return _field(model, "access_owner_field", "owner_id")


def team_field(model: type[peewee.Model]) -> peewee.Field | None:
    return _field(model, "access_team_field", "team_id")


def is_scoped(model: type[peewee.Model]) -> bool:
    return owner_field(model) is not None or team_field(model) is not None


def _principal(principal: Principal | None) -> Principal | None:
    principal = principal if principal is not None else current_principal()
    if principal is None and has_request_context():
        from flask import g
        if "crmkit_principal" not in g:
            raise Unauthorized("Authentication required.")
    return principal


def scope_condition(model: type[peewee.Model], principal: Principal | None = None):
    """A WHERE expression limiting ``model`` to what ``principal`` may see; None for no limit."""
    principal = _principal(principal)
    if principal is None or principal.scope == "all" or not is_scoped(model):
        return None
    owner, team = owner_field(model), team_field(model)
    conditions = []
    if principal.scope == "team":
        if owner is not None:
            conditions.append(owner.in_(sorted(principal.team_user_ids)))
        if team is not None and principal.team_ids:
            conditions.append(team.in_(sorted(principal.team_ids)))
    elif owner is not None:
        conditions.append(owner == principal.user_id)
    if not conditions:
        return peewee.SQL("1 = 0")
    condition = conditions[0]
    for extra in conditions[1:]:
        condition = condition | extra
    return condition


def visible(query: peewee.ModelSelect, model: type[peewee.Model] | None = None,
            principal: Principal | None = None) -> peewee.ModelSelect:
    """``query`` limited to the records of ``model`` (default: the query's model) the principal
    may see. Use it for lists, counts, exports and reports alike."""
    condition = scope_condition(model or query.model, principal)
    return query if condition is None else query.where(condition)


def can_see(record: peewee.Model, principal: Principal | None = None) -> bool:
    principal = _principal(principal)
    if principal is None or principal.scope == "all" or not is_scoped(type(record)):
        return True
    owner, team = owner_field(type(record)), team_field(type(record))
    owner_id = getattr(record, owner.name) if owner is not None else None
    team_id = getattr(record, team.name) if team is not None else None
    if principal.scope == "team":
        return ((owner_id is not None and owner_id in principal.team_user_ids)
                or (team_id is not None and team_id in principal.team_ids))
    return owner_id is not None and owner_id == principal.user_id


def get_visible(model: type[M], record_id: Any, principal: Principal | None = None,
                label: str | None = None) -> M:
    """The record with this id if the principal may see it; otherwise the same 404 as for an id
    that does not exist."""
    query = visible(model.select().where(model._meta.primary_key == record_id), model, principal)
    record = query.first()
    if record is None:
        raise NotFound(f"No {label or model._meta.table_name} with id {record_id}.")
    return record


def check_visible(record: peewee.Model | None, principal: Principal | None = None,
                  label: str | None = None, record_id: Any = None) -> None:
    """404 unless the principal may see ``record`` (for records the caller already loaded)."""
    if record is None or not can_see(record, principal):
        model_label = label or (record._meta.table_name if record is not None else "record")
        raise NotFound(f"No {model_label} with id "
                       f"{record_id if record_id is not None else record.get_id()}.")


def assign_owner(data: dict, model: type[peewee.Model], reassign_permission: str,
                 current_owner: int | None = None, creating: bool = False,
                 principal: Principal | None = None) -> dict:
    """Property-level rule for owner fields in incoming data.

    On create the owner defaults to the caller. Giving a record to someone else, on create or
    later, needs ``reassign_permission`` (for example ``customers:reassign``); without it the
    field is refused with 403, never silently ignored.
    """
    principal = _principal(principal)
    owner = owner_field(model)
    if owner is None:
        return data
    name = owner.name
    if principal is None:
        return data
    if creating and data.get(name) is None:
        data = {**data, name: principal.user_id}
    wanted = data.get(name, current_owner)
    own_choice = wanted == principal.user_id and (creating or current_owner is None)
    if name in data and wanted != current_owner and not own_choice \
            and not principal.can(reassign_permission):
        raise Forbidden(f"Setting {name} to another user needs the permission "
                        f"{reassign_permission!r}.", {"json": {name: ["Not allowed."]}})
    check_owner_exists(data.get(name), name)
    return data


def check_owner_exists(user_id: int | None, field: str = "owner_id") -> None:
    """422 unless ``user_id`` is None or an active user."""
    if user_id is None:
        return
    from crmkit.auth.models import User
    if not User.select().where(User.id == user_id, User.active == True).exists():  # noqa: E712
        raise ValidationError({field: f"No active user with id {user_id}."})
