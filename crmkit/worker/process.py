"""``crmkit worker``: huey's consumer (worker threads and the cron scheduler) plus the pump."""
from __future__ import annotations

import logging

from crmkit.worker.pump import PumpThread, drain
from crmkit.worker.runtime import Runtime

log = logging.getLogger("crmkit.worker")


def run_worker(app, workers: int = 2) -> None:
    """Run until SIGINT or SIGTERM (finishing the tasks in hand) ; SIGHUP restarts."""
    runtime = Runtime(app, immediate=False)
    consumer = runtime.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, scheduler_interval=1,
        initial_delay=0.05, backoff=1.5, max_delay=1.0, check_worker_health=True)
    pump = PumpThread(runtime, workers)
    pump.start()
    names = runtime.runnable_names()
    log.info("worker: %s thread(s), queue %s, tasks and jobs: %s", workers,
             type(runtime.huey.storage).__name__, ", ".join(names) or "none")
    try:
        consumer.run()
    finally:
        pump.stop()
        pump.join(timeout=10)


def run_once(app) -> int:
    """Do everything due now in this process, then return (cron-driven installations, tests)."""
    return drain(Runtime(app, immediate=True))
