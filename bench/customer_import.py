#!/usr/bin/env python
"""Bulk import of customers from CSV: ``crmkit customers import`` against the raw database.

Run with the venv's interpreter:

    python bench/customer_import.py                  # 1,000,000 rows, SQLite and PostgreSQL
    python bench/customer_import.py --rows 100000 --engine sqlite

Each side runs in a subprocess of its own on a fresh, migrated database: the floor is the file read
with ``csv`` and inserted with one ``sqlite3`` ``executemany`` in one transaction (SQLite), or sent
with ``COPY ... FROM STDIN`` (PostgreSQL); crmkit is ``crmkit customers import FILE
--on-duplicate update``. The script prints rows/s of each, the ratio and each child's peak RSS
(``getrusage`` of the reaped child). It never fails on time.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

GOAL_RATIO = 0.5
GOAL_RSS_MB = 200
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
COLUMNS = ["kind", "name", "first_name", "last_name", "email", "city", "country", "status",
           "created_at", "updated_at"]
CITIES = [("Berlin", "DE"), ("London", "GB"), ("Paris", "FR"), ("Rome", "IT"),
          ("Madrid", "ES"), ("Vienna", "AT"), ("Oslo", "NO"), ("Lisbon", "PT")]
STATUSES = ["potential", "prospect", "active", "inactive"]

FLOOR_SQLITE = """
import csv, sqlite3, sys
path, db = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
with open(path, newline="", encoding="utf-8") as f:
    rows = csv.reader(f)
    header = next(rows)
    with con:
        con.executemany(f"INSERT INTO customer ({', '.join(header)}) "
                        f"VALUES ({', '.join('?' * len(header))})", rows)
"""

FLOOR_POSTGRES = """
import psycopg, sys
path, url = sys.argv[1], sys.argv[2]
with psycopg.connect(url) as conn, open(path, "rb") as f:
    header = f.readline().decode().strip()
    f.seek(0)
    with conn.cursor() as cur, cur.copy(f"COPY customer ({header}) FROM STDIN "
                                        "(FORMAT csv, HEADER true)") as copy:
        while chunk := f.read(1 << 20):
            copy.write(chunk)
"""


def crmkit_command() -> str:
    path = Path(sys.executable).parent / "crmkit"
    if not path.exists():
        sys.exit(f"{path} not found: run this with the Python of the venv where crmkit is "
                 "installed")
    return str(path)


def write_file(path: Path, rows: int) -> None:
    """People with unique emails, as an export from another installation would list them."""
    stamp = "2024-01-01T00:00:00+00:00"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i in range(rows):
            first, last = f"Given{i}", f"Family{i % 9973}"
            city, country = CITIES[i % len(CITIES)]
            writer.writerow(["person", f"{first} {last}", first, last,
                             f"person{i}@example.com", city, country,
                             STATUSES[i % len(STATUSES)], stamp, stamp])


def timed_child(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, float]:
    """Run ``cmd``; (wall seconds, CPU seconds, peak RSS in MB) of that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    # wait4 reaps the child and hands back its own getrusage (ru_maxrss is in KiB on Linux).
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed ({code}):\n{proc.stderr.read().decode()[-3000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def count_customers(env: dict[str, str], cwd: str) -> int:
    code = ("from crmkit.app import create_app\nfrom crmkit import db\n"
            "from crmkit.customers.models import Customer\napp = create_app()\n"
            "with app.app_context(), db.connection():\n    print(Customer.select().count())\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, check=True,
                         capture_output=True, text=True)
    return int(out.stdout.split()[-1])


class Target:
    """A fresh, migrated database for one measurement."""

    def __init__(self, engine: str, tmp: str, pg_url: str):
        self.engine, self.tmp, self.pg_url = engine, tmp, pg_url
        self.schema = None
        if engine == "sqlite":
            self.path = Path(tmp) / f"bench-{uuid.uuid4().hex[:8]}.db"
            self.url = f"sqlite:///{self.path}"
        else:
            import psycopg
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{self.schema}"')
            sep = "&" if "?" in pg_url else "?"
            self.url = f"{pg_url}{sep}options={quote(f'-c search_path={self.schema}')}"
        self.env = dict(os.environ, CRMKIT_DATABASE_URL=self.url, CRMKIT_PLUGINS="",
                        CRMKIT_LOG_LEVEL="WARNING", PYTHONWARNINGS="ignore")
        subprocess.run([crmkit_command(), "db", "upgrade"], env=self.env, cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def drop(self) -> None:
        if self.schema:
            import psycopg
            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def measure(engine: str, side: str, data: Path, rows: int, tmp: str, pg_url: str) -> dict:
    target = Target(engine, tmp, pg_url)
    try:
        if side == "floor":
            script = FLOOR_SQLITE if engine == "sqlite" else FLOOR_POSTGRES
            where = str(target.path) if engine == "sqlite" else target.url
            cmd = [sys.executable, "-c", script, str(data), where]
        else:
            cmd = [crmkit_command(), "customers", "import", str(data), "--on-duplicate", "update",
                   "--report", str(Path(tmp) / "report.csv")]
        seconds, cpu, rss = timed_child(cmd, target.env, tmp)
        stored = count_customers(target.env, tmp)
        if stored != rows:
            sys.exit(f"{engine} {side}: {stored} customers stored, expected {rows}")
        return {"seconds": seconds, "cpu": cpu, "rate": rows / seconds, "rss": rss}
    finally:
        target.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers (default 1e6)")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("CRMKIT_BENCH_POSTGRES_URL", DEFAULT_PG),
                        help=f"PostgreSQL server (default {DEFAULT_PG})")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs per side, alternated; the best is kept (default 1)")
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-import-") as tmp:
        data = Path(tmp) / "customers.csv"
        write_file(data, args.rows)
        size_mb = data.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size_mb:.0f} MB CSV")
        results = []
        for engine in engines:
            best: dict[str, dict] = {}
            for round_no in range(1, args.rounds + 1):
                for side in ("floor", "crmkit"):  # alternated: machine load hits both
                    result = measure(engine, side, data, args.rows, tmp, args.pg_url)
                    print(f"{engine:10} round {round_no} {side:6}: {result['seconds']:7.1f} s "
                          f"({result['cpu']:6.1f} s CPU) {result['rate']:9.0f} rows/s  "
                          f"peak RSS {result['rss']:4.0f} MB", flush=True)
                    if side not in best or result["rate"] > best[side]["rate"]:
                        best[side] = result
            ratio = best["crmkit"]["rate"] / best["floor"]["rate"]
            results.append((engine, best, ratio))
        floor_name = {"sqlite": "sqlite3 executemany", "postgresql": "COPY FROM STDIN"}
        for engine, best, ratio in results:
            rss = best["crmkit"]["rss"]
            # On a busy machine wall time mostly measures the wait for a core; the client's own
            # CPU time says more about crmkit (on PostgreSQL the server's work is not in it).
            cpu_ratio = best["floor"]["cpu"] / best["crmkit"]["cpu"]
            print(f"{engine}: floor ({floor_name[engine]}) {best['floor']['rate']:,.0f} rows/s, "
                  f"crmkit {best['crmkit']['rate']:,.0f} rows/s, ratio {ratio:.2f} "
                  f"(goal >= {GOAL_RATIO}: {'PASS' if ratio >= GOAL_RATIO else 'MISS'}); "
                  f"client CPU floor {best['floor']['cpu']:.1f} s, crmkit "
                  f"{best['crmkit']['cpu']:.1f} s (ratio {cpu_ratio:.2f}); crmkit peak RSS "
                  f"{rss:.0f} MB (goal <= {GOAL_RSS_MB}: "
                  f"{'PASS' if rss <= GOAL_RSS_MB else 'MISS'})")


if __name__ == "__main__":
    main()
