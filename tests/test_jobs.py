"""Background jobs in immediate mode: defer in a transaction, retries, periodic runs, plugins."""
import datetime as dt

import peewee
import pytest

from crmkit import Manifest, PeriodicJob, Task, hookimpl
from crmkit.db import BaseModel, connection, utcnow, write_transaction
from crmkit.tasks import collect_tasks
from crmkit.worker.models import Job
from crmkit.worker.pump import drain, pump_once
from crmkit.worker.runtime import Runtime
from crmkit.worker.settings import jobs_database_path
from crmkit.worker.testing import run_due


class Entry(BaseModel):
    key = peewee.CharField(max_length=50)

    class Meta:
        table_name = "tally_entry"


calls: list[str] = []


def add_entry(key: str, fail: int = 0) -> None:
    """Writes, then fails ``fail`` times: an atomic task's write must vanish with the failure."""
    Entry.create(key=key)
    calls.append(key)
    if calls.count(key) <= fail:
        raise RuntimeError(f"failing {key} on purpose")


def nightly() -> None:
    Entry.create(key="nightly")


ADD = Task("tally.add", add_entry, max_attempts=3, retry_delay_seconds=0)


class Tally:
    manifest = Manifest(name="tally")

    @hookimpl
    def register_models(self):
        return [Entry]

    @hookimpl
    def register_tasks(self):
        return [ADD]

    @hookimpl
    def register_jobs(self):
        return [PeriodicJob("nightly", "0 3 * * *", nightly)]


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


@pytest.fixture
def tally_app(make_app):
    return make_app(plugins=[Tally()])


def keys(app):
    with app.app_context(), connection():
        return sorted(e.key for e in Entry.select())


def defer(app, **kwargs):
    with app.app_context(), connection(), write_transaction():
        return ADD.defer(**kwargs)


def job(app, job_id):
    with app.app_context(), connection():
        return Job.get_by_id(job_id)


def test_hook_register_tasks(tally_app, make_runner):
    tasks = collect_tasks(tally_app.extensions["crmkit"].pm)
    assert [(plugin, task) for plugin, task in tasks if plugin == "tally"] == [("tally", ADD)]
    listed = make_runner(plugins=[Tally()]).invoke("jobs tasks").output
    assert ["tally", "tally.add", "3", "yes"] in [line.split() for line in listed.splitlines()]


def test_a_deferred_task_runs_after_commit_and_only_then(tally_app):
    job_id = defer(tally_app, key="a")
    assert keys(tally_app) == [] and job(tally_app, job_id).status == "pending"
    run_due(tally_app)
    assert keys(tally_app) == ["a"]
    done = job(tally_app, job_id)
    assert (done.status, done.attempts, done.lease) == ("done", 1, None)
    run_due(tally_app)  # nothing runs twice
    assert keys(tally_app) == ["a"]


def test_a_rolled_back_transaction_defers_nothing(tally_app):
    with pytest.raises(RuntimeError):
        with tally_app.app_context(), connection(), write_transaction():
            ADD.defer(key="never")
            raise RuntimeError("the change failed")
    run_due(tally_app)
    assert keys(tally_app) == []
    with tally_app.app_context(), connection():
        assert Job.select().count() == 0


def test_a_failing_atomic_task_leaves_nothing_and_is_retried(tally_app):
    job_id = defer(tally_app, key="b", fail=2)
    run_due(tally_app)  # retry delay 0: three attempts in this drain
    assert keys(tally_app) == ["b"]  # the two failed runs' rows rolled back
    assert calls == ["b", "b", "b"]
    done = job(tally_app, job_id)
    assert (done.status, done.attempts, done.last_error) == ("done", 3, None)


def test_a_task_failing_every_time_is_marked_failed_with_the_error(tally_app, runner):
    job_id = defer(tally_app, key="c", fail=10)
    run_due(tally_app)
    failed = job(tally_app, job_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error == "RuntimeError: failing c on purpose"
    assert keys(tally_app) == []
    listed = runner.invoke("jobs runs --status failed").output
    assert "tally.add  failed  3" in listed


def test_retry_waits_with_backoff(tally_app):
    slow = Task("tally.add", add_entry, retry_delay_seconds=60)
    assert [slow.retry_delay(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    job_id = defer(tally_app, key="d", fail=1)
    with tally_app.app_context(), connection():
        runtime = Runtime(tally_app, immediate=True)
        runtime.runnables["tally.add"] = runtime.runnables["tally.add"].__class__(
            "tally", "tally.add", add_entry, True, 300, slow.retry_delay)
        pump_once(runtime)
        waiting = Job.get_by_id(job_id)
    assert waiting.status == "pending" and waiting.attempts == 1
    assert 55 < (waiting.next_attempt_at - utcnow()).total_seconds() <= 60


def test_dedupe_key_makes_defer_idempotent(tally_app):
    first = defer(tally_app, key="e", dedupe_key="import-42")
    second = defer(tally_app, key="e", dedupe_key="import-42")
    assert first == second
    run_due(tally_app)
    assert keys(tally_app) == ["e"]


def test_periodic_runs_are_recorded_once_per_minute_and_run(tally_app):
    runtime = Runtime(tally_app, immediate=True)
    at = dt.datetime(2026, 11, 24, 3, 0, 10, tzinfo=dt.timezone.utc)
    with tally_app.app_context(), connection():
        first = runtime.record_periodic_run("tally:nightly", at)
        # A second scheduler (another worker process) in the same minute adds nothing.
        assert runtime.record_periodic_run("tally:nightly", at + dt.timedelta(seconds=40)) == first
        runtime.record_periodic_run("tally:nightly", at + dt.timedelta(days=1))
    drain(runtime)
    assert keys(tally_app) == ["nightly", "nightly"]
    with tally_app.app_context(), connection():
        assert Job.get_by_id(first).dedupe_key == "periodic:tally:nightly@2026-11-24T03:00"


def test_the_huey_schedule_holds_the_cron_of_enabled_plugins_only(tally_app, make_app):
    from huey.api import PeriodicTask
    runtime = Runtime(tally_app, immediate=True)
    periodic = [t for t in runtime.huey._registry._registry.values()
                if issubclass(t, PeriodicTask) and ".tally:" in t.__name__]
    assert [t.__name__ for t in periodic] == ["crmkit.periodic.tally:nightly"]
    nightly_task = periodic[0]()
    assert nightly_task.validate_datetime(dt.datetime(2026, 1, 1, 3, 0))
    assert not nightly_task.validate_datetime(dt.datetime(2026, 1, 1, 4, 0))

    off = make_app(plugins=[Tally()], PLUGINS="")  # tally switched off
    assert [n for n in Runtime(off, immediate=True).runnable_names() if "tally" in n] == []


def test_a_disabled_plugins_tasks_wait_and_run_when_it_is_back(tally_app, make_app):
    job_id = defer(tally_app, key="f")
    off = make_app(plugins=[Tally()], PLUGINS="")
    run_due(off)
    assert job(off, job_id).status == "pending" and keys(tally_app) == []
    # Switched off while a worker runs: the worker notices and stops running its jobs.
    runtime = Runtime(tally_app, immediate=True)
    runtime.config = {**runtime.config, "PLUGINS": ""}
    with tally_app.app_context(), connection():
        runtime.refresh_enabled()
    assert runtime.enabled == {"crmkit"}
    drain(runtime)
    assert keys(tally_app) == []
    run_due(tally_app)
    assert keys(tally_app) == ["f"]


def test_a_job_whose_lease_was_taken_over_does_not_commit_its_work(tally_app):
    job_id = defer(tally_app, key="g")
    runtime = Runtime(tally_app, immediate=True)
    with tally_app.app_context(), connection():
        from crmkit.worker import leases
        token, ids = leases.claim(Job, 10, 60)
        assert ids == [job_id]
        # Someone else re-claims it (as after an expired lease) before this run records.
        Job.update(lease="someone-else").where(Job.id == job_id).execute()
        assert runtime.run_job(job_id, token) is None
    assert keys(tally_app) == [] and job(tally_app, job_id).lease == "someone-else"


def test_task_names_and_duplicates_are_checked(make_app):
    with pytest.raises(ValueError, match="dotted lower case"):
        Task("Add", add_entry)

    class Copycat:
        manifest = Manifest(name="copycat")

        @hookimpl
        def register_tasks(self):
            return [ADD]

    from crmkit import PluginError
    app = make_app(plugins=[Tally(), Copycat()])
    with pytest.raises(PluginError, match="'tally.add' is declared by both 'copycat' and 'tally'"):
        collect_tasks(app.extensions["crmkit"].pm)


def test_jobs_database_sits_beside_the_crm_database():
    assert jobs_database_path({"DATABASE_URL": "sqlite:////srv/crm/crmkit.db"}) == \
        "/srv/crm/crmkit-jobs.db"
    assert jobs_database_path({"DATABASE_URL": "postgresql://x@h/db"}) == "crmkit-jobs.db"
    assert jobs_database_path({"JOBS_DATABASE": "/var/lib/jobs.db"}) == "/var/lib/jobs.db"


def test_worker_once_runs_everything_due(tally_app, make_runner):
    defer(tally_app, key="h")
    result = make_runner(plugins=[Tally()]).invoke("worker --once")
    assert result.exit_code == 0, result.output
    assert keys(tally_app) == ["h"]
