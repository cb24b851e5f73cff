"""One-off background tasks: declared by plugins, deferred inside a transaction, run by the worker.

A plugin declares a :class:`Task` and returns it from ``register_tasks``; code calls
``task.defer(**kwargs)`` inside its own transaction. That writes a row in the ``job`` table (the
durable record) and nothing else: if the transaction rolls back, the task never runs; once it
commits, ``crmkit worker`` runs it, retrying with backoff when it raises. A worker that dies half-way
leaves the row claimed until its lease runs out; then another run takes it over. See docs/jobs.md.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from crmkit.db import utcnow

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$")


@dataclass(frozen=True)
class Task:
    """A function the worker runs on request, e.g. ``Task("loyalty.recalculate", recalculate)``.

    ``name`` is dotted and starts with the plugin's name; it is what the ``job`` table stores, so
    keep it stable. Keyword arguments must be JSON-ready.

    ``atomic`` (default True) runs the function in one database transaction together with marking
    the job done: a run killed half-way leaves nothing behind, and the retry starts clean. Set it to
    False for work that talks to the outside world or runs long (the SQLite write lock would be held
    throughout); such a function must then be idempotent by itself.
    ``lease_seconds`` is how long a run may take before the job is presumed dead and run again.
    """

    name: str
    func: Callable[..., object]
    max_attempts: int = 5
    retry_delay_seconds: float = 60.0  # doubled after each failed attempt
    lease_seconds: float = 300.0
    atomic: bool = True

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise ValueError(f"task name {self.name!r} must be dotted lower case and start with "
                             "the plugin name, e.g. 'loyalty.recalculate'")
        if self.max_attempts < 1:
            raise ValueError(f"task {self.name!r}: max_attempts must be at least 1")

    def defer(self, *, delay_seconds: float = 0, dedupe_key: str | None = None, **kwargs) -> int:
        """Queue a run in the caller's transaction; returns the job id.

        ``dedupe_key`` makes the call idempotent: a second defer with the same key adds nothing and
        returns the existing job's id.
        """
        return defer(self.name, delay_seconds=delay_seconds, dedupe_key=dedupe_key,
                     max_attempts=self.max_attempts, **kwargs)

    def retry_delay(self, attempts: int) -> dt.timedelta:
        return dt.timedelta(seconds=self.retry_delay_seconds * 2 ** max(attempts - 1, 0))


def defer(task_name: str, *, delay_seconds: float = 0, dedupe_key: str | None = None,
          max_attempts: int = 5, **kwargs) -> int:
    """Queue a run of the task named ``task_name`` (see :meth:`Task.defer`)."""
    from crmkit.events.outbox import dumps
    from crmkit.worker.models import Job
    row = {
        "task": task_name,
        "kwargs": dumps(kwargs),
        "max_attempts": max_attempts,
        "next_attempt_at": utcnow() + dt.timedelta(seconds=delay_seconds),
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
    }
    if dedupe_key is None:
        return Job.insert(**row).execute()
    Job.insert(**row).on_conflict_ignore().execute()
    return Job.get(Job.dedupe_key == dedupe_key).id


def collect_tasks(pm) -> list[tuple[str, Task]]:
    """(plugin, task) pairs from ``register_tasks``; a name declared twice names both plugins."""
    from crmkit.plugins import PluginError
    seen: dict[str, str] = {}
    out = []
    for plugin, tasks in pm.call_each("register_tasks", _name_errors=True):
        for task in tasks or []:
            if not isinstance(task, Task):
                raise PluginError(f"plugin {plugin!r}: register_tasks must return Task objects, "
                                  f"got {task!r}")
            if task.name in seen:
                raise PluginError(f"task {task.name!r} is declared by both {seen[task.name]!r} "
                                  f"and {plugin!r}")
            seen[task.name] = plugin
            out.append((plugin, task))
    return out
