"""Periodic jobs: overdue task alerts.

Every minute: an open task past its due time alerts its assignee once; still open after the
escalation grace period (``CRMKIT_SALES_ESCALATION_MINUTES``), it alerts the assignee's team
managers once. Each task is claimed with a conditional UPDATE (``... WHERE alerted_at IS NULL``)
in its own transaction, so two workers, or a rerun after a crash, never alert twice.
"""
from __future__ import annotations

import datetime as dt

from crmkit import PeriodicJob
from crmkit.db import utcnow, write_transaction

from crmkit_sales import alerts, people
from crmkit_sales.models import Task
from crmkit_sales.settings import link, setting

BATCH = 500


def _claim(task_id: int, column, now: dt.datetime) -> bool:
    return bool(Task.update({column: now}).where(Task.id == task_id, column.is_null(),
                                                 Task.status == "open").execute())


def alert_overdue_tasks(now: dt.datetime | None = None) -> dict:
    """Send the alerts that are due at ``now``; returns how many of each were sent."""
    now = now or utcnow()
    grace = dt.timedelta(minutes=setting("ESCALATION_MINUTES"))
    sent = {"assignee": 0, "manager": 0}
    overdue = (Task.select(Task.id).where(Task.status == "open", Task.due_at < now,
                                          Task.alerted_at.is_null())
               .order_by(Task.due_at).limit(BATCH))
    for (task_id,) in list(overdue.tuples()):
        with write_transaction():
            if not _claim(task_id, Task.alerted_at, now):
                continue
            task = Task.get_by_id(task_id)
            if task.assignee_id is not None:
                alerts.send(f"Overdue: {task.title} (due {task.due_at:%Y-%m-%d %H:%M} UTC)",
                            users=[task.assignee_id], link=link(f"/tasks/{task.id}"),
                            reason="task_overdue", subject="sales.task", subject_id=task.id)
                sent["assignee"] += 1
    late = (Task.select(Task.id).where(Task.status == "open", Task.due_at < now - grace,
                                       Task.escalated_at.is_null())
            .order_by(Task.due_at).limit(BATCH))
    for (task_id,) in list(late.tuples()):
        with write_transaction():
            if not _claim(task_id, Task.escalated_at, now):
                continue
            task = Task.get_by_id(task_id)
            managers = people.managers_of(task.assignee_id) if task.assignee_id else []
            if managers:
                who = people.user_names([task.assignee_id]).get(task.assignee_id)
                alerts.send(f"Overdue for {who}: {task.title} (due "
                            f"{task.due_at:%Y-%m-%d %H:%M} UTC)", users=managers,
                            link=link(f"/tasks/{task.id}"), reason="task_overdue_escalated",
                            subject="sales.task", subject_id=task.id)
                sent["manager"] += 1
    return sent


def _run() -> None:
    alert_overdue_tasks()


JOBS = [PeriodicJob("overdue-task-alerts", "* * * * *", _run)]
