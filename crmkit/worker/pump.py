"""The pump: moves committed work from the database into huey's queue.

Each round it fans new events out into webhook deliveries, then claims due jobs, deliveries and
emails and enqueues them in batches. It claims only while huey's queue is short, so claimed work
does not sit in a queue until its lease runs out. Several workers may pump at once: claims never
overlap and fan-out is serialised.
"""
from __future__ import annotations

import logging
import threading
import time

from crmkit import db
from crmkit.webhooks.fanout import fan_out
from crmkit.worker.runtime import Runtime
from crmkit.worker.settings import setting

log = logging.getLogger("crmkit.worker.pump")

FAN_OUT_BATCH = 1000
CLAIM_LIMITS = {"jobs": 50, "webhooks": 500, "mail": 100}


def pump_once(runtime: Runtime, max_backlog: int | None = None) -> int:
    """One round; returns how many events and rows it moved (0: nothing to do right now)."""
    moved = 0
    for _ in range(20):  # bounded: a large backlog of events is fanned out over several rounds
        read = fan_out(FAN_OUT_BATCH)
        moved += read
        if read < FAN_OUT_BATCH:
            break
    for kind, (claim, _run, _size) in runtime.queues.items():
        if max_backlog is not None and runtime.backlog() >= max_backlog:
            break
        token, ids = claim(CLAIM_LIMITS[kind])
        if not ids:
            continue
        moved += len(ids)
        for chunk in runtime.split(kind, ids):
            runtime.enqueue(kind, chunk, token)
    return moved


def drain(runtime: Runtime, max_rounds: int = 1000) -> int:
    """Pump until nothing is due (immediate mode runs everything in this thread); returns the
    number of rounds. Work scheduled for later (retries with backoff) is left for later."""
    with runtime.app.app_context(), db.connection():
        for rounds in range(1, max_rounds + 1):
            moved = pump_once(runtime)
            if runtime.errors:
                raise runtime.errors[0]
            if moved == 0:
                return rounds
    raise RuntimeError(f"work still due after {max_rounds} rounds")


class PumpThread(threading.Thread):
    """The pump as a loop inside ``crmkit worker``."""

    def __init__(self, runtime: Runtime, workers: int):
        super().__init__(name="crmkit-pump", daemon=True)
        self.runtime = runtime
        self.interval = setting(runtime.config, "WORKER_POLL_SECONDS")
        self.max_backlog = max(2 * workers, 4)
        self.stopping = threading.Event()

    def run(self) -> None:
        last_refresh = time.monotonic()
        while not self.stopping.is_set():
            moved, busy = 0, False
            try:
                with self.runtime.app.app_context(), db.connection():
                    if time.monotonic() - last_refresh > 10:
                        self.runtime.refresh_enabled()
                        last_refresh = time.monotonic()
                    moved = pump_once(self.runtime, self.max_backlog)
                    busy = moved > 0 or self.runtime.backlog() >= self.max_backlog
            except Exception:  # a database hiccup must not end the loop; try again next round
                log.exception("pump round failed")
            # Busy: go again soon; idle: wait for the poll interval.
            self.stopping.wait(0.05 if busy else self.interval)

    def stop(self) -> None:
        self.stopping.set()
