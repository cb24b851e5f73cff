"""Periodic jobs declared by plugins through ``register_jobs``.

The worker (see the events and jobs documentation) runs what these describe; the kernel only
collects them, so a disabled plugin's jobs are never scheduled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

_FIELDS = ("minute", "hour", "day", "month", "day_of_week")


@dataclass(frozen=True)
class PeriodicJob:
    """A function run on a cron-style schedule, e.g. ``PeriodicJob("expire", "0 3 * * *", f)``."""

    name: str
    schedule: str
    func: Callable[[], object]

    def __post_init__(self):
        if len(self.schedule.split()) != len(_FIELDS):
            raise ValueError(
                f"job {self.name!r}: schedule {self.schedule!r} needs five cron fields "
                "(minute hour day month day_of_week)")

    @property
    def cron(self) -> dict[str, str]:
        return dict(zip(_FIELDS, self.schedule.split()))
