"""Tasks: calls, meetings, visits and to-dos with a due time, an assignee and an outcome.

Completing a call, meeting or visit records it on the customer's timeline (once: the interaction's
external id is the task's). Tasks are visible to their assignee, their assignee's team managers
(team scope) and everyone with the ``all`` scope, through the kernel's object-level access.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from crmkit.auth import scoping
from crmkit.customers.models import Customer
from crmkit.db import utcnow
from crmkit.errors import Conflict, ValidationError
from crmkit.events import emit
from crmkit.pagination import Page, clamp_limit, keyset_page

from crmkit_sales import people
from crmkit_sales.models import TASK_KINDS, Deal, Task

INTERACTION_KINDS = {"call": "call", "meeting": "meeting", "visit": "visit"}
EDITABLE = ("kind", "title", "description", "location", "due_at", "duration_minutes",
            "assignee_id", "deal_id", "customer_id")


def get_task(task_id: int) -> Task:
    return scoping.get_visible(Task, task_id, label="task")


def _check(data: Mapping, errors: dict) -> None:
    if "kind" in data and data["kind"] not in TASK_KINDS:
        errors["kind"] = f"One of: {', '.join(TASK_KINDS)}."
    if "title" in data and not str(data["title"] or "").strip():
        errors["title"] = "Must not be empty."
    if "duration_minutes" in data and not 0 <= int(data["duration_minutes"] or 0) <= 10080:
        errors["duration_minutes"] = "Whole minutes from 0 to 10080."
    if data.get("assignee_id") is not None:
        people.check_user(data["assignee_id"], "assignee_id", errors)
    if data.get("deal_id") is not None:
        # A task may only hang on a deal the caller can see.
        if not scoping.visible(Deal.select().where(Deal.id == data["deal_id"]), Deal).exists():
            errors["deal_id"] = f"No deal with id {data['deal_id']}."
    if data.get("customer_id") is not None and not Customer.select().where(
            Customer.id == data["customer_id"]).exists():
        errors["customer_id"] = f"No customer with id {data['customer_id']}."


def create_task(data: Mapping, by_user: int | None = None) -> Task:
    errors: dict = {}
    for key in ("title", "due_at"):
        if not data.get(key):
            errors[key] = "Missing data for required field."
    _check(data, errors)
    if errors:
        raise ValidationError(errors)
    customer_id = data.get("customer_id")
    if customer_id is None and data.get("deal_id") is not None:
        customer_id = Deal.get_by_id(data["deal_id"]).customer_id
    now = utcnow()
    task = Task.create(kind=data.get("kind", "todo"), title=data["title"].strip()[:300],
                       description=data.get("description"), location=data.get("location"),
                       due_at=data["due_at"], duration_minutes=data.get("duration_minutes", 30),
                       assignee_id=data.get("assignee_id", by_user), deal=data.get("deal_id"),
                       customer_id=customer_id, created_by=by_user, created_at=now,
                       updated_at=now)
    emit("sales.task.created", task_summary(task), subject="sales.task", subject_id=task.id)
    return task


def update_task(task: Task, data: Mapping) -> Task:
    if task.status != "open":
        raise Conflict(f"Task {task.id} is {task.status}; reopen it to change it.")
    errors: dict = {}
    _check(data, errors)
    if errors:
        raise ValidationError(errors)
    for key in EDITABLE:
        if key in data:
            setattr(task, "deal" if key == "deal_id" else key, data[key])
    if "due_at" in data:  # a new due time earns a new overdue alert
        task.alerted_at = task.escalated_at = None
    task.updated_at = utcnow()
    task.save()
    return task


def complete_task(task: Task, outcome: str | None = None, by_user: int | None = None,
                  when: dt.datetime | None = None) -> Task:
    """Mark done; a call, meeting or visit with a customer goes on their timeline."""
    if task.status == "done":
        return task
    if task.status == "cancelled":
        raise Conflict(f"Task {task.id} was cancelled; reopen it first.")
    now = when or utcnow()
    task.status, task.outcome = "done", outcome
    task.completed_at, task.completed_by = now, by_user
    kind = INTERACTION_KINDS.get(task.kind)
    if kind and task.customer_id is not None:
        from crmkit.customers.timeline import record_interaction
        summary = task.title + (f": {outcome}" if outcome else "")
        actor = people.user_names([by_user or task.assignee_id]).get(by_user or task.assignee_id)
        with people.seeing_all():
            interaction = record_interaction(task.customer_id, {
                "type": kind, "occurred_at": now, "summary": summary, "actor": actor,
                "direction": "outbound", "channel": "phone" if kind == "call" else "in_person",
                "external_id": f"task:{task.id}",
                "payload": {"task_id": task.id, "deal_id": task.deal_id,
                            "duration_minutes": task.duration_minutes}}, source="sales")
        task.interaction_id = interaction.id
    task.updated_at = now
    task.save()
    emit("sales.task.completed", task_summary(task), subject="sales.task", subject_id=task.id)
    return task


def cancel_task(task: Task) -> Task:
    if task.status == "done":
        raise Conflict(f"Task {task.id} is done already.")
    task.status, task.updated_at = "cancelled", utcnow()
    task.save()
    return task


def reopen_task(task: Task) -> Task:
    if task.status == "open":
        return task
    if task.interaction_id is not None:
        raise Conflict(f"Task {task.id} is on the customer's timeline; create a new task.")
    task.status, task.completed_at, task.completed_by = "open", None, None
    task.updated_at = utcnow()
    task.save()
    return task


def task_summary(task: Task) -> dict:
    return {"id": task.id, "kind": task.kind, "title": task.title, "due_at": task.due_at,
            "assignee_id": task.assignee_id, "deal_id": task.deal_id,
            "customer_id": task.customer_id, "status": task.status}


def task_dict(task: Task, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    return {**task_summary(task), "description": task.description, "location": task.location,
            "duration_minutes": task.duration_minutes, "outcome": task.outcome,
            "overdue": task.status == "open" and task.due_at < now,
            "automation_id": task.automation_id, "created_by": task.created_by,
            "completed_by": task.completed_by, "completed_at": task.completed_at,
            "interaction_id": task.interaction_id, "alerted_at": task.alerted_at,
            "escalated_at": task.escalated_at, "created_at": task.created_at,
            "updated_at": task.updated_at}


def list_tasks(params: Mapping, max_page_size: int) -> Page:
    query = Task.select()
    for name in ("assignee_id", "deal_id", "customer_id"):
        if params.get(name) is not None:
            query = query.where(getattr(Task, name) == params[name])
    if params.get("status"):
        query = query.where(Task.status.in_(str(params["status"]).split(",")))
    if params.get("kind"):
        query = query.where(Task.kind.in_(str(params["kind"]).split(",")))
    if params.get("overdue"):
        query = query.where(Task.status == "open", Task.due_at < utcnow())
    if params.get("due_from"):
        query = query.where(Task.due_at >= params["due_from"])
    if params.get("due_to"):
        query = query.where(Task.due_at < params["due_to"])
    query = scoping.visible(query, Task)
    return keyset_page(query, Task.due_at, Task.id, False, params.get("cursor"),
                       clamp_limit(params.get("limit"), max_page_size), lambda t: t.due_at)
