"""The worker's runtime: huey, the tasks and periodic jobs of enabled plugins, and how each kind of
queued work (jobs, webhook deliveries, emails) is claimed and run.

The database tables are the durable truth; huey is the transport from the pump (which claims due
rows) to the worker threads, and the cron scheduler. huey loses a task that a killed worker had
already taken off its queue; the claimed row's lease then runs out and the pump hands it out again.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab

from crmkit import db
from crmkit.config import plugin_override
from crmkit.db import utcnow, write_transaction
from crmkit.jobs import PeriodicJob
from crmkit.plugin_state import stored_choices
from crmkit.plugins import KERNEL
from crmkit.registry import collect_jobs
from crmkit.tasks import Task, collect_tasks
from crmkit.worker import leases
from crmkit.worker.models import DONE, FAILED, PENDING, Job
from crmkit.worker.settings import jobs_database_path, setting

log = logging.getLogger("crmkit.worker")

PERIODIC_ATTEMPTS = 3
PERIODIC_LEASE_SECONDS = 3600.0


def build_huey(config, immediate: bool, name: str = "crmkit"):
    """huey on Redis when CRMKIT_REDIS_URL is set, else on its own SQLite file; in memory and
    synchronous in immediate mode."""
    if immediate:
        return MemoryHuey(name, immediate=True, results=False)
    redis_url = setting(config, "REDIS_URL")
    if redis_url:
        return RedisHuey(name, url=redis_url, results=False)
    return SqliteHuey(name, filename=jobs_database_path(config), results=False)


@dataclass(frozen=True)
class Runnable:
    """A job the worker knows how to run: a plugin's Task, or a periodic job's runs."""

    plugin: str
    name: str
    func: Callable[..., object]
    atomic: bool
    lease_seconds: float
    retry: Callable[[int], dt.timedelta]


def periodic_task_name(plugin: str, job: PeriodicJob) -> str:
    return f"{plugin}:{job.name}"


class Runtime:
    """Everything one worker process (or a test in immediate mode) needs.

    ``queues`` maps a kind of work to (claim, run): ``claim(limit)`` returns a lease token and
    ids, ``run(ids, token)`` does the work. The pump claims, this class hands the ids to huey.
    """

    def __init__(self, app, *, immediate: bool | None = None):
        state = app.extensions["crmkit"]
        self.app, self.config, self.pm = app, state.config, state.pm
        if immediate is None:
            immediate = setting(self.config, "JOBS_IMMEDIATE")
        self.huey = build_huey(self.config, immediate, setting(self.config, "JOBS_QUEUE_NAME"))
        self.runnables: dict[str, Runnable] = {}
        for plugin, task in collect_tasks(self.pm):
            self.runnables[task.name] = Runnable(plugin, task.name, task.func, task.atomic,
                                                 task.lease_seconds, task.retry_delay)
        self.periodic = collect_jobs(self.pm)
        for plugin, job in self.periodic:
            name = periodic_task_name(plugin, job)
            self.runnables[name] = Runnable(
                plugin, name, job.func, False, PERIODIC_LEASE_SECONDS,
                lambda attempts: dt.timedelta(seconds=60 * 2 ** (attempts - 1)))
        self.enabled = set(self.pm.active_names())
        self.queues = self._queues()
        self.errors: list[Exception] = []
        self._huey_tasks = self._define_huey_tasks()

    # -- plugins switched off while the worker runs --------------------------------------------------

    def refresh_enabled(self) -> None:
        """Drop plugins switched off since start: their jobs stay queued but are not run.
        (A plugin switched on needs a worker restart: its code is not loaded here.)"""
        override = plugin_override(self.config)
        choices = {} if override is not None else stored_choices()
        self.enabled = {name for name in self.enabled if name == KERNEL or (
            name in override if override is not None else choices.get(name, True))}

    def runnable_names(self) -> list[str]:
        return sorted(name for name, r in self.runnables.items() if r.plugin in self.enabled)

    # -- kinds of queued work ------------------------------------------------------------------------

    def _queues(self) -> dict[str, tuple[Callable, Callable, int]]:
        from crmkit.mail import sending
        from crmkit.webhooks import delivery
        config = self.config
        batch = setting(config, "WEBHOOKS_BATCH_SIZE")

        def claim_jobs(limit):
            names = self.runnable_names()
            if not names:
                return None, []
            return leases.claim(Job, limit, 120, where=Job.task.in_(names))

        def claim_deliveries(limit):
            return delivery.claim_due(config, limit)

        return {
            # kind: (claim(limit) -> (token, ids), run(ids, token), ids per huey task)
            "jobs": (claim_jobs, self.run_job_batch, 1),
            "webhooks": (claim_deliveries, lambda ids, token: delivery.deliver_batch(
                ids, token, config), batch),
            "mail": (lambda limit: sending.claim_due(config, limit),
                     lambda ids, token: sending.send_batch(ids, token, config), 20),
        }

    def split(self, kind: str, ids: list[int]) -> list[list[int]]:
        size = self.queues[kind][2]
        if kind == "webhooks":
            from crmkit.webhooks.delivery import group_by_subscription
            return group_by_subscription(ids, size)
        return [ids[i:i + size] for i in range(0, len(ids), size)]

    def _define_huey_tasks(self) -> dict[str, object]:
        defined = {}
        for kind in self.queues:
            def body(ids, token, kind=kind):
                with self.app.app_context(), db.connection():
                    try:
                        self.queues[kind][1](ids, token)
                    except Exception as exc:
                        # huey logs and swallows it; in immediate mode the caller (a test) sees it.
                        self.errors.append(exc)
                        raise
            defined[kind] = self.huey.task(name=f"crmkit.{kind}")(body)
        for plugin, job in self.periodic:
            name = periodic_task_name(plugin, job)

            def schedule(name=name):
                with self.app.app_context(), db.connection():
                    self.record_periodic_run(name, utcnow())
            self.huey.periodic_task(crontab(**job.cron), name=f"crmkit.periodic.{name}")(schedule)
        return defined

    def enqueue(self, kind: str, ids: list[int], token: str) -> None:
        self._huey_tasks[kind](ids, token)

    def backlog(self) -> int:
        """Tasks waiting in huey's queue (0 in immediate mode)."""
        return 0 if self.huey.immediate else self.huey.pending_count()

    # -- jobs ---------------------------------------------------------------------------------------

    def record_periodic_run(self, name: str, now: dt.datetime) -> int | None:
        """Queue the run of a periodic job for this minute; a second scheduler (another worker)
        asking for the same minute adds nothing."""
        runnable = self.runnables[name]
        if runnable.plugin not in self.enabled:
            return None
        slot = now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M")
        with write_transaction():
            Job.insert(task=name, kwargs="{}", max_attempts=PERIODIC_ATTEMPTS,
                       next_attempt_at=utcnow(), created_at=utcnow(),
                       dedupe_key=f"periodic:{name}@{slot}").on_conflict_ignore().execute()
        return Job.get(Job.dedupe_key == f"periodic:{name}@{slot}").id

    def run_job_batch(self, ids: list[int], token: str) -> None:
        for job_id in ids:
            self.run_job(job_id, token)

    def run_job(self, job_id: int, token: str) -> str | None:
        """Run one claimed job; returns its new status, or None when it was not ours to run."""
        job = Job.get_or_none(Job.id == job_id)
        runnable = self.runnables.get(job.task) if job is not None else None
        if runnable is None or runnable.plugin not in self.enabled:
            if job is not None:  # hand it back untouched; it waits for its plugin
                Job.update(lease=None, locked_until=None).where(
                    leases.held(Job, job_id, token)).execute()
            return None
        if not leases.extend(Job, [job_id], token, runnable.lease_seconds):
            return None
        kwargs = json.loads(job.kwargs)
        try:
            if runnable.atomic:
                with write_transaction():
                    runnable.func(**kwargs)
                    if not self._finish(job, token):
                        raise _LeaseLost
            else:
                runnable.func(**kwargs)
                if not self._finish(job, token):
                    return None
        except _LeaseLost:
            log.warning("job %s (%s) outlived its lease; its work was rolled back", job_id,
                        job.task)
            return None
        except Exception as exc:
            return self._fail(job, token, runnable, exc)
        return DONE

    @staticmethod
    def _finish(job: Job, token: str) -> bool:
        with write_transaction():
            return bool(Job.update(status=DONE, attempts=Job.attempts + 1, finished_at=utcnow(),
                                   lease=None, locked_until=None, last_error=None)
                        .where(leases.held(Job, job.id, token) & (Job.status == PENDING))
                        .execute())

    @staticmethod
    def _fail(job: Job, token: str, runnable: Runnable, exc: Exception) -> str:
        attempts = job.attempts + 1
        gave_up = attempts >= job.max_attempts
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.warning("job %s (%s) attempt %s failed: %s", job.id, job.task, attempts, error)
        now = utcnow()
        with write_transaction():
            Job.update(status=FAILED if gave_up else PENDING, attempts=attempts,
                       next_attempt_at=now if gave_up else now + runnable.retry(attempts),
                       lease=None, locked_until=None, last_error=error[:2000],
                       finished_at=now if gave_up else None).where(
                leases.held(Job, job.id, token)).execute()
        return FAILED if gave_up else PENDING


class _LeaseLost(Exception):
    """Raised inside an atomic job to roll back work whose claim someone else took over."""
