#!/usr/bin/env python
"""Reading customers with a million of them stored: one customer, and the deepest list page.

Run with the venv's interpreter:

    python bench/customer_api.py                   # 1,000,000 customers, SQLite
    python bench/customer_api.py --rows 50000 --seconds 3

1. ``GET /api/v1/customers/{id}`` (random ids) from ``crmkit serve`` against
   ``bare_customer_app.py`` (Flask + peewee + marshmallow doing the same job) under the same
   gunicorn settings; requests/s of each and the ratio (goal >= 0.8).
2. ``GET /api/v1/customers`` page 1 against the last page (page 20,000 of 50 with a million
   customers), reached by following ``next_cursor`` from page 1; median latency of each and the
   ratio deep/first (goal <= 1.5).

Never fails on time. Everything stays on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from healthz_throughput import HOST, free_port, start, stop  # noqa: E402

GOAL_LOOKUP = 0.8
GOAL_DEEP_PAGE = 1.5
HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
PAGE = 50


def request(port: int, path: str, token: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def populate(url: str, path: Path | None, rows: int) -> None:
    """Customers with an email row each, written straight into the tables."""
    now = "2024-01-01 00:00:00"
    customers = ((i, "person", f"Given{i} Family{i % 9973}", f"Given{i}", f"Family{i % 9973}",
                  f"person{i}@example.com", "Berlin", "DE", "active", now, now)
                 for i in range(1, rows + 1))
    emails = ((i, f"person{i}@example.com", f"person{i}@example.com", True)
              for i in range(1, rows + 1))
    columns = "id, kind, name, first_name, last_name, email, city, country, status, " \
              "created_at, updated_at"
    if path is not None:
        con = sqlite3.connect(path)
        with con:
            con.executemany(f"INSERT INTO customer ({columns}) VALUES "
                            f"({', '.join('?' * 11)})", customers)
            con.executemany("INSERT INTO contact_email (customer_id, email, email_key, "
                            "is_primary) VALUES (?, ?, ?, ?)", emails)
        con.execute("ANALYZE")
        con.close()
        return
    import psycopg
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY customer ({columns}) FROM STDIN") as copy:
            for row in customers:
                copy.write_row(row)
        with cur.copy("COPY contact_email (customer_id, email, email_key, is_primary) "
                      "FROM STDIN") as copy:
            for row in emails:
                copy.write_row(row)
        cur.execute("SELECT setval(pg_get_serial_sequence('customer', 'id'), %s)", (rows,))
        cur.execute("ANALYZE")


def admin_token(env: dict[str, str], cwd: str) -> str:
    code = (
        "from crmkit.app import create_app\nfrom crmkit import db\n"
        "from crmkit.auth import tokens, users\napp = create_app()\n"
        "with app.app_context(), db.connection(), db.write_transaction():\n"
        "    user = users.create_user('bench@crmkit.test', 'Bench', 'admin')\n"
        "    print(tokens.create_token(user, 'bench')[1])\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, check=True,
                         capture_output=True, text=True)
    return out.stdout.split()[-1]


def lookup_load(port: int, token: str, rows: int, seconds: float, threads: int) -> float:
    """200 answers per second for random ids from ``threads`` clients."""
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def client(i: int) -> None:
        rng = random.Random(i)
        while time.monotonic() < deadline:
            try:
                status, _ = request(port, f"/api/v1/customers/{rng.randint(1, rows)}", token)
                counts[i] += status == 200
            except OSError:
                pass

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    began = time.monotonic()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return sum(counts) / (time.monotonic() - began)


def deepest_cursor(port: int, token: str) -> tuple[int, str | None]:
    """Follow next_cursor from page 1 to the last page; (its number, the cursor that reaches
    it)."""
    page, cursor, previous = 1, None, None
    while True:
        query = urlencode({"limit": PAGE, **({"cursor": cursor} if cursor else {})})
        status, body = request(port, f"/api/v1/customers?{query}", token)
        if status != 200:
            sys.exit(f"listing page {page} answered {status}: {body[:300]!r}")
        following = json.loads(body)["next_cursor"]
        if following is None:
            return page, cursor
        previous, cursor, page = cursor, following, page + 1
        if page % 2000 == 0:
            print(f"  ... page {page}", flush=True)


def page_latency(port: int, token: str, cursor: str | None, times: int) -> list[float]:
    query = urlencode({"limit": PAGE, **({"cursor": cursor} if cursor else {})})
    out = []
    for _ in range(times):
        began = time.perf_counter()
        status, _ = request(port, f"/api/v1/customers?{query}", token)
        out.append(time.perf_counter() - began)
        if status != 200:
            sys.exit(f"page answered {status}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers (default 1e6)")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("CRMKIT_BENCH_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--seconds", type=float, default=5.0, help="load per round (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per server (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--page-requests", type=int, default=60,
                        help="requests per page for the latency medians (default 60)")
    args = parser.parse_args()
    crmkit = Path(sys.executable).parent / "crmkit"
    if not crmkit.exists():
        sys.exit(f"{crmkit} not found: run this with the Python of the venv where crmkit is "
                 "installed")

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-api-") as tmp:
        schema = None
        if args.engine == "sqlite":
            db_path = Path(tmp) / "bench.db"
            url = f"sqlite:///{db_path}"
        else:
            import psycopg
            db_path, schema = None, f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            sep = "&" if "?" in args.pg_url else "?"
            url = f"{args.pg_url}{sep}options={quote(f'-c search_path={schema}')}"
        env = dict(os.environ, CRMKIT_DATABASE_URL=url, BARE_DATABASE_URL=url, CRMKIT_PLUGINS="",
                   CRMKIT_RATE_LIMIT="100000000 per minute", CRMKIT_LOG_LEVEL="WARNING",
                   PYTHONWARNINGS="ignore")
        procs: dict[str, subprocess.Popen] = {}
        try:
            subprocess.run([str(crmkit), "db", "upgrade"], env=env, cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            began = time.perf_counter()
            populate(url, db_path, args.rows)
            print(f"{args.rows:,} customers stored in {time.perf_counter() - began:.0f} s")
            token = admin_token(env, tmp)

            ports = {"bare": free_port(), "crmkit": free_port()}
            commands = {
                "bare": [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", "sync",
                         "-b", f"{HOST}:{ports['bare']}", "--access-logfile", "-", "--preload",
                         "--timeout", "30", "--pythonpath", str(HERE), "bare_customer_app:app"],
                "crmkit": [str(crmkit), "serve", "--bind", f"{HOST}:{ports['crmkit']}",
                           "--workers", str(args.workers)],
            }
            for name, cmd in commands.items():
                procs[name] = start(cmd, env, tmp, ports[name])
                status, body = request(ports[name], "/api/v1/customers/1", token)
                if status != 200:
                    sys.exit(f"{name}: GET /api/v1/customers/1 answered {status}: {body[:300]!r}")
                lookup_load(ports[name], token, args.rows, 1.0, args.clients)  # warm-up

            best = {name: 0.0 for name in commands}
            for round_no in range(1, args.rounds + 1):
                for name in commands:
                    rate = lookup_load(ports[name], token, args.rows, args.seconds, args.clients)
                    best[name] = max(best[name], rate)
                    print(f"round {round_no} {name:6}: {rate:8.1f} req/s", flush=True)
            lookup_ratio = best["crmkit"] / best["bare"] if best["bare"] else 0.0

            print("following next_cursor to the last page ...", flush=True)
            began = time.perf_counter()
            last_page, cursor = deepest_cursor(ports["crmkit"], token)
            walk = time.perf_counter() - began
            first, deep = [], []
            for _ in range(2):  # alternated, so load drift hits both
                first += page_latency(ports["crmkit"], token, None, args.page_requests // 2)
                deep += page_latency(ports["crmkit"], token, cursor, args.page_requests // 2)
            first_ms, deep_ms = statistics.median(first) * 1e3, statistics.median(deep) * 1e3
            page_ratio = deep_ms / first_ms
        finally:
            for proc in procs.values():
                stop(proc)
            if schema is not None:
                import psycopg
                with psycopg.connect(args.pg_url, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    print(f"GET /customers/{{id}} floor (bare Flask + peewee + marshmallow): {best['bare']:.1f} "
          f"req/s; crmkit: {best['crmkit']:.1f} req/s; ratio {lookup_ratio:.2f} "
          f"(goal >= {GOAL_LOOKUP}: {'PASS' if lookup_ratio >= GOAL_LOOKUP else 'MISS'})")
    print(f"list page 1: {first_ms:.2f} ms median; page {last_page:,}: {deep_ms:.2f} ms median "
          f"(reached by following {last_page - 1:,} cursors in {walk:.0f} s); ratio "
          f"{page_ratio:.2f} (goal <= {GOAL_DEEP_PAGE}: "
          f"{'PASS' if page_ratio <= GOAL_DEEP_PAGE else 'MISS'})")


if __name__ == "__main__":
    main()
