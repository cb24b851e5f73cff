"""Who gets a new lead or deal, and who gets a task for a role or a team.

Rules are tried in order; the first whose source and territory match (an empty filter matches
anything) hands the record to a member of its team, by round-robin or to the least-loaded member.
Round-robin remembers the last person per pool in ``sales_round_robin``, updated under a row
lock, so two requests at once never hand out the same turn.
"""
from __future__ import annotations

import peewee

from crmkit.db import is_sqlite, utcnow
from crmkit.errors import NotFound, ValidationError

from crmkit_sales import people
from crmkit_sales.models import OPEN, AssignmentRule, Deal, RoundRobin, Task

STRATEGIES = ("round_robin", "least_loaded")


def next_in_turn(key: str, candidates: list[int]) -> int | None:
    """The candidate after the one who had the last turn in pool ``key``."""
    if not candidates:
        return None
    candidates = sorted(set(candidates))
    RoundRobin.insert(key=key, last_user_id=None).on_conflict_ignore().execute()
    query = RoundRobin.select().where(RoundRobin.key == key)
    if not is_sqlite():  # SQLite's request transaction already holds the write lock
        query = query.for_update()
    row = query.get()
    chosen = next((c for c in candidates if row.last_user_id is None or c > row.last_user_id),
                  candidates[0])
    RoundRobin.update(last_user_id=chosen, updated_at=utcnow()).where(
        RoundRobin.key == key).execute()
    return chosen


def least_loaded(candidates: list[int], kind: str = "deals") -> int | None:
    """The candidate with the fewest open deals (or open tasks); ties go to the lowest id."""
    if not candidates:
        return None
    if kind == "tasks":
        column, condition = Task.assignee_id, Task.status == "open"
        model = Task
    else:
        column, condition = Deal.owner_id, Deal.status == OPEN
        model = Deal
    load = dict(model.select(column, peewee.fn.COUNT(model.id)).where(
        condition & column.in_(candidates)).group_by(column).tuples())
    return min(sorted(set(candidates)), key=lambda user: load.get(user, 0))


def pick_owner(source: str | None = None, territory: str | None = None) -> tuple[int | None,
                                                                                 int | None]:
    """(owner id, team id) from the first matching active rule, or (None, None)."""
    rules = AssignmentRule.select().where(AssignmentRule.active == True).order_by(  # noqa: E712
        AssignmentRule.position, AssignmentRule.id)
    for rule in rules:
        if rule.source and (source or "").lower() != rule.source.lower():
            continue
        if rule.territory and (territory or "").lower() != rule.territory.lower():
            continue
        members = people.team_members(rule.team_id)
        if not members:
            continue
        if rule.strategy == "least_loaded":
            return least_loaded(members), rule.team_id
        return next_in_turn(f"team:{rule.team_id}", members), rule.team_id
    return None, None


# -- rules --------------------------------------------------------------------------------------

def _check(data: dict, errors: dict) -> None:
    if "strategy" in data and data["strategy"] not in STRATEGIES:
        errors["strategy"] = f"One of: {', '.join(STRATEGIES)}."
    if "team_id" in data and not people.team_exists(data["team_id"]):
        errors["team_id"] = f"No team with id {data['team_id']}."


def create_rule(data: dict) -> AssignmentRule:
    errors: dict = {}
    _check(data, errors)
    if AssignmentRule.select().where(AssignmentRule.name == data["name"]).exists():
        errors["name"] = "A rule with this name exists already."
    if errors:
        raise ValidationError(errors)
    if "position" not in data:
        top = AssignmentRule.select(peewee.fn.MAX(AssignmentRule.position)).scalar()
        data = {**data, "position": (top or 0) + 1}
    return AssignmentRule.create(**data)


def get_rule(rule_id: int) -> AssignmentRule:
    rule = AssignmentRule.get_or_none(AssignmentRule.id == rule_id)
    if rule is None:
        raise NotFound(f"No assignment rule with id {rule_id}.")
    return rule


def update_rule(rule: AssignmentRule, data: dict) -> AssignmentRule:
    errors: dict = {}
    _check(data, errors)
    if "name" in data and AssignmentRule.select().where(
            AssignmentRule.name == data["name"], AssignmentRule.id != rule.id).exists():
        errors["name"] = "A rule with this name exists already."
    if errors:
        raise ValidationError(errors)
    for key, value in data.items():
        setattr(rule, key, value)
    rule.save()
    return rule


def list_rules() -> list[AssignmentRule]:
    return list(AssignmentRule.select().order_by(AssignmentRule.position, AssignmentRule.id))


def delete_rule(rule: AssignmentRule) -> None:
    rule.delete_instance()


def rule_dict(rule: AssignmentRule) -> dict:
    return {"id": rule.id, "name": rule.name, "position": rule.position, "team_id": rule.team_id,
            "strategy": rule.strategy, "source": rule.source, "territory": rule.territory,
            "active": rule.active, "created_at": rule.created_at}

