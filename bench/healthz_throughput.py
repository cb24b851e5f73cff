#!/usr/bin/env python
"""GET /healthz throughput of ``crmkit serve`` against a bare Flask app under the same gunicorn.

Run with the venv's interpreter: ``python bench/healthz_throughput.py [--seconds S] [--workers W]``.
Prints requests/s and a ratio; it never fails on time. Everything stays on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

GOAL = 0.8
HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def get_healthz(port: int) -> int:
    # Gunicorn's sync workers close every connection, so each request needs a new one anyway.
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def start(cmd: list[str], env: dict[str, str], cwd: str, port: int) -> subprocess.Popen:
    # Both servers log every request (crmkit serve has no switch to turn that off); the log goes
    # to /dev/null so the work is equal and the terminal is not part of the measurement.
    # A session of its own lets us signal the master and its workers as one group.
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited with {proc.returncode} before serving: {' '.join(cmd)}")
        try:
            if get_healthz(port) == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"not ready after 15 s: {' '.join(cmd)}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def load(port: int, seconds: float, threads: int) -> float:
    """Successful (200) responses per second from `threads` clients hammering for `seconds`."""
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def client(i: int) -> None:
        while time.monotonic() < deadline:
            try:
                if get_healthz(port) == 200:
                    counts[i] += 1
            except OSError:
                pass  # a refused or reset connection simply does not count

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    start_time = time.monotonic()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return sum(counts) / (time.monotonic() - start_time)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration per round (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both servers (default 2)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per server, best kept (default 2)")
    args = parser.parse_args()

    crmkit = Path(sys.executable).parent / "crmkit"
    if not crmkit.exists():
        sys.exit(f"{crmkit} not found: run this with the Python of the venv where crmkit is installed")

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        db_path = Path(tmp) / "bench.db"
        # Both apps hit the same migrated file, so SQLite does the same work for each.
        env = dict(os.environ, CRMKIT_DATABASE_URL=f"sqlite:///{db_path}", BARE_HEALTHZ_DB=str(db_path))
        subprocess.run([str(crmkit), "db", "upgrade"], env=env, cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)

        ports = {"bare": free_port(), "crmkit": free_port()}
        commands = {
            # Same settings as crmkit serve passes to gunicorn: sync workers, access log on, preload.
            "bare": [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", "sync",
                     "-b", f"{HOST}:{ports['bare']}", "--access-logfile", "-", "--preload",
                     "--timeout", "30", "--pythonpath", str(HERE), "bare_healthz_app:app"],
            "crmkit": [str(crmkit), "serve", "--bind", f"{HOST}:{ports['crmkit']}",
                       "--workers", str(args.workers)],
        }
        procs: dict[str, subprocess.Popen] = {}
        best = {name: 0.0 for name in commands}
        try:
            for name, cmd in commands.items():
                procs[name] = start(cmd, env, tmp, ports[name])
                # Unmeasured warm-up: every worker serves its first (slower) requests here.
                load(ports[name], 1.0, args.clients)
            # Alternated so drift in machine load hits both sides equally.
            for round_no in range(1, args.rounds + 1):
                for name in commands:
                    rate = load(ports[name], args.seconds, args.clients)
                    best[name] = max(best[name], rate)
                    print(f"round {round_no} {name:6}: {rate:8.1f} req/s")
        finally:
            for proc in procs.values():
                stop(proc)

    ratio = best["crmkit"] / best["bare"] if best["bare"] else 0.0
    print(f"floor  (bare Flask + gunicorn, best): {best['bare']:8.1f} req/s")
    print(f"crmkit (crmkit serve, best)         : {best['crmkit']:8.1f} req/s")
    print(f"ratio  crmkit/floor: {ratio:.2f}   (workers {args.workers}, clients {args.clients}, "
          f"{args.seconds:g} s x {args.rounds} rounds)")
    print(f"goal   >= {GOAL}   {'PASS' if ratio >= GOAL else 'MISS'}")


if __name__ == "__main__":
    main()
