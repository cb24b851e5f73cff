"""``crmkit worker`` as a real process: Redis-backed, webhooks end to end, and SIGKILL mid-job."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from crmkit.db import connection, write_transaction
from crmkit.events import emit
from crmkit.worker.models import Job
from crmkit.worker.testing import Receiver

REDIS_URL = "redis://127.0.0.1:6379/0"
CRMKIT = Path(sys.executable).parent / "crmkit"

SLOW_PLUGIN = """
import os
import time

import peewee

from crmkit import Manifest, Task, hookimpl
from crmkit.db import BaseModel

manifest = Manifest(name="slow")


class Award(BaseModel):
    key = peewee.CharField(max_length=50)

    class Meta:
        table_name = "slow_award"


def award(key, marker):
    Award.create(key=key)
    if not os.path.exists(marker):
        # First run: tell the test we are half-way (row written, not committed), then hang.
        with open(marker, "w") as out:
            out.write(str(os.getpid()))
        time.sleep(120)


AWARD = Task("slow.award", award, lease_seconds=2)


@hookimpl
def register_models():
    return [Award]


@hookimpl
def register_tasks():
    return [AWARD]
"""


def redis_available() -> bool:
    try:
        import redis
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not redis_available(), reason=f"no Redis at {REDIS_URL}")


@pytest.fixture
def queue_name():
    name = f"crmkit-test-{uuid.uuid4().hex[:8]}"
    yield name
    if redis_available():
        import redis
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"huey.*{name}*"):
            client.delete(key)


class Worker:
    """A ``crmkit worker`` subprocess with its own session, stopped for sure at the end."""

    def __init__(self, env: dict, log_path: Path):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([str(CRMKIT), "worker", "--workers", "2"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def worker_env(crmkit_database_url, tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMKIT_")}
    env.update({
        "CRMKIT_DATABASE_URL": crmkit_database_url,
        "CRMKIT_JOBS_DATABASE": str(tmp_path / "jobs.db"),
        "CRMKIT_WORKER_POLL_SECONDS": "0.1",
        "CRMKIT_LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), env.get("PYTHONPATH", "")]),
    })
    env.update(extra)
    return env


def wait_for(condition, seconds: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # bounded poll
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n--- worker log ---\n{tail}")


def job_row(app, job_id):
    with app.app_context(), connection():
        return Job.get_by_id(job_id)


@needs_redis
def test_redis_worker_delivers_webhooks_and_runs_deferred_tasks(install_dist, make_app,
                                                                 crmkit_database_url, tmp_path,
                                                                 queue_name):
    install_dist("slow", SLOW_PLUGIN)
    settings = {"WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1"}
    app = make_app(**settings)
    client = app.test_client()
    log = tmp_path / "worker.log"
    with Receiver() as receiver:
        secret = client.post("/api/v1/webhooks", json={
            "url": receiver.url, "event_types": ["customer.*"]}).json["secret"]
        marker = tmp_path / "marker"
        marker.write_text("already ran once")  # so the task does not hang in this test
        from crmkit_slow import AWARD
        with app.app_context(), connection(), write_transaction():
            events = [emit("customer.created", {"n": n}) for n in range(20)]
            job_id = AWARD.defer(key="k1", marker=str(marker))
        worker = Worker(worker_env(crmkit_database_url, tmp_path, CRMKIT_REDIS_URL=REDIS_URL,
                                   CRMKIT_JOBS_QUEUE_NAME=queue_name,
                                   CRMKIT_WEBHOOKS_ALLOWED_HOSTS="127.0.0.1"), log)
        try:
            wait_for(lambda: len(receiver.requests) >= 20, 60, "20 webhook deliveries", log)
            wait_for(lambda: job_row(app, job_id).status == "done", 30, "the task", log)
        finally:
            worker.stop()
    assert worker.proc.returncode == 0, log.read_text()[-2000:]
    assert "RedisStorage" in log.read_text()
    from crmkit.webhooks import signing
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert sorted(ids) == sorted(str(e.uuid) for e in events)
    assert all(signing.verify(secret, r.headers["Crmkit-Timestamp"], r.body,
                              r.headers["Crmkit-Signature"], time.time())
               for r in receiver.requests)


@needs_redis
def test_a_worker_killed_mid_job_and_restarted_completes_the_job_once(install_dist, make_app,
                                                                      crmkit_database_url,
                                                                      tmp_path, queue_name):
    """The proof: SIGKILL while the task is half-way (row written, not committed), restart, and
    the task's effect exists exactly once."""
    install_dist("slow", SLOW_PLUGIN)
    app = make_app()
    from crmkit_slow import AWARD, Award
    marker = tmp_path / "marker"
    with app.app_context(), connection(), write_transaction():
        job_id = AWARD.defer(key="once", marker=str(marker))
    env = worker_env(crmkit_database_url, tmp_path, CRMKIT_REDIS_URL=REDIS_URL,
                     CRMKIT_JOBS_QUEUE_NAME=queue_name)
    log = tmp_path / "worker.log"

    first = Worker(env, log)
    try:
        wait_for(marker.exists, 60, "the task to start", log)
        first.kill()
    finally:
        first.stop()
    assert first.proc.returncode == -signal.SIGKILL
    with app.app_context(), connection():
        assert Award.select().count() == 0  # the half-done run left nothing
    assert job_row(app, job_id).status == "pending"

    second = Worker(env, log)
    try:
        wait_for(lambda: job_row(app, job_id).status == "done", 60, "the job to complete", log)
    finally:
        second.stop()
    with app.app_context(), connection():
        assert [a.key for a in Award.select()] == ["once"]
    done = job_row(app, job_id)
    assert done.attempts == 1 and done.lease is None


def test_sqlite_backed_worker_by_default(install_dist, make_app, crmkit_database_url, tmp_path):
    """Without CRMKIT_REDIS_URL, huey keeps its queue in its own SQLite file."""
    install_dist("slow", SLOW_PLUGIN)
    app = make_app()
    from crmkit_slow import AWARD, Award
    marker = tmp_path / "marker"
    marker.write_text("do not hang")
    with app.app_context(), connection(), write_transaction():
        job_id = AWARD.defer(key="sqlite", marker=str(marker))
    log = tmp_path / "worker.log"
    worker = Worker(worker_env(crmkit_database_url, tmp_path), log)
    try:
        wait_for(lambda: job_row(app, job_id).status == "done", 60, "the job", log)
    finally:
        worker.stop()
    assert (tmp_path / "jobs.db").exists() and "SqliteStorage" in log.read_text()
    with app.app_context(), connection():
        assert [a.key for a in Award.select()] == ["sqlite"]
