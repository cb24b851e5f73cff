#!/usr/bin/env python
"""Sustained webhook delivery rate of ``crmkit worker`` to a local receiver.

Run with the venv's interpreter:

    python bench/webhooks_delivery_rate.py                       # 3,000 events, 2 worker threads
    python bench/webhooks_delivery_rate.py --events 10000 --workers 4
    python bench/webhooks_delivery_rate.py --redis-url redis://127.0.0.1:6379/0   # huey on Redis

Stores N events for one subscription, starts ``crmkit worker --workers W`` (huey on SQLite, or on
Redis with ``--redis-url``, which also moves rate-limit counts there) and
times the deliveries from the first to the last arriving at a receiver on 127.0.0.1. The floor is
a bare ``http.client`` loop POSTing the same number of bodies to the same receiver over kept-alive
connections from W threads: what the receiver and the machine can take. Prints deliveries/s of
each with the worker count and the ratio. Never fails on time.
"""
from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path


def floor_rate(port: int, count: int, threads: int) -> float:
    body = b'{"id":"x","type":"bench.event","payload":{}}'
    per_thread = count // threads

    def post_many():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(per_thread):
            conn.request("POST", "/floor", body=body, headers={"Content-Type": "application/json"})
            conn.getresponse().read()
        conn.close()

    workers = [threading.Thread(target=post_many) for _ in range(threads)]
    started = time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return per_thread * threads / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2, help="worker threads (default 2)")
    parser.add_argument("--redis-url", help="run huey on this Redis (default: its SQLite file)")
    args = parser.parse_args()
    crmkit = Path(sys.executable).parent / "crmkit"

    from crmkit import create_app
    from crmkit.db import connection, utcnow, write_transaction
    from crmkit.events import Event
    from crmkit.schema import upgrade
    from crmkit.webhooks.subscriptions import create_subscription
    from crmkit.worker.testing import Receiver

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp, Receiver() as receiver:
        env = {**os.environ, "CRMKIT_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
               "CRMKIT_WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1", "CRMKIT_LOG_LEVEL": "WARNING",
               "CRMKIT_WORKER_POLL_SECONDS": "0.1"}
        env.pop("CRMKIT_REDIS_URL", None)
        if args.redis_url:
            env["CRMKIT_REDIS_URL"] = args.redis_url
        app = create_app({"DATABASE_URL": env["CRMKIT_DATABASE_URL"],
                          "WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1"})
        upgrade(app.extensions["crmkit"].pm)
        with app.app_context(), connection(), write_transaction():
            create_subscription(app.extensions["crmkit"].config, receiver.url, ["*"])
            rows = [{"uuid": uuid.uuid4(), "type": "bench.event", "occurred_at": utcnow(),
                     "payload": "{}"} for _ in range(args.events)]
            for start in range(0, len(rows), 1000):
                Event.insert_many(rows[start:start + 1000]).execute()

        rate_floor = floor_rate(receiver.port, args.events, args.workers)
        receiver.requests.clear()
        proc = subprocess.Popen([str(crmkit), "worker", "--workers", str(args.workers)], env=env,
                                cwd=tmp, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        first = last = None
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:  # bounded
                count = len(receiver.requests)
                if count and first is None:
                    first, first_count = time.perf_counter(), count
                if count >= args.events:
                    last = time.perf_counter()
                    break
                time.sleep(0.01)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        if last is None:
            sys.exit(f"only {len(receiver.requests)} of {args.events} delivered in 600 s")
        rate = (args.events - first_count) / (last - first)

    print(f"floor  (http.client loop, {args.workers} threads): {rate_floor:8.1f} requests/s")
    print(f"crmkit worker --workers {args.workers}           : {rate:8.1f} deliveries/s")
    queue = "Redis" if args.redis_url else "SQLite"
    print(f"ratio  crmkit/floor: {rate / rate_floor:.2f}   ({args.events} events, SQLite, huey "
          f"on {queue})")


if __name__ == "__main__":
    main()
