#!/usr/bin/env python
"""Loyalty backfill: points for N historical purchases against a raw insert of the same ledger rows.

Run with the venv's interpreter (crmkit and crmkit-loyalty installed):

    python bench/loyalty_backfill.py                         # 1,000,000 purchases, both engines
    python bench/loyalty_backfill.py --purchases 100000 --engine sqlite

Set-up (not timed): a fresh database with the kernel's and loyalty's tables; N purchase
interactions of N/10 customers over two years (a third with line items, some in a category with a
multiplier); a programme with a spend rule, a category multiplier and a first-purchase bonus.

- crmkit: ``crmkit_loyalty.backfill.backfill(programme, evaluate=False)``: enrols the N/10
  customers, computes every purchase's points, writes the ledger rows, their lots and the members'
  balances (tier evaluation is the other benchmark).
- floor: the very ledger rows the backfill wrote, read back and inserted into an empty copy of
  the schema (same table, indexes and keys) with one DB-API ``executemany`` in one transaction.

Prints both times, the ratio floor/crmkit (goal >= 0.3) and checks that the books agree. Never
fails on time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

GOAL = 0.3
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
LEDGER_COLUMNS = ("programme_id", "member_id", "kind", "points", "qualifying_points", "shortfall",
                  "cause", "interaction_id", "rule_id", "redemption_id", "referral_id",
                  "reverses_id", "available_at", "expires_at", "dedupe_key", "note", "actor",
                  "occurred_at", "created_at")


class Database:
    """A fresh database: a SQLite file, or a schema of its own on the PostgreSQL server."""

    def __init__(self, engine: str, workdir: str, server: str):
        self.engine, self.server = engine, server
        if engine == "sqlite":
            self.url = f"sqlite:///{Path(workdir) / f'{uuid.uuid4().hex[:8]}.db'}"
        else:
            import psycopg
            self.schema = "bench_" + uuid.uuid4().hex[:10]
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{self.schema}"')
            sep = "&" if "?" in server else "?"
            self.url = f"{server}{sep}options={quote(f'-c search_path={self.schema}')}"

    def drop(self):
        if self.engine == "postgresql":
            import psycopg
            with psycopg.connect(self.server, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def make_app(url: str):
    from crmkit.app import create_app
    from crmkit.schema import upgrade
    app = create_app({"DATABASE_URL": url, "PLUGINS": "loyalty"})
    upgrade(app.extensions["crmkit"].pm)
    return app


def fill_history(purchases: int, seed: int = 1) -> tuple[int, int]:
    """Customers and purchase interactions, inserted raw (set-up, not timed)."""
    from crmkit.customers.models import Customer, Interaction
    from crmkit.db import is_sqlite, utcnow, write_transaction
    from crmkit_loyalty.backfill import _db_time, bulk_insert
    rng = random.Random(seed)
    sqlite = is_sqlite()
    customers = max(1, purchases // 10)
    now = utcnow()
    with write_transaction():
        bulk_insert(Customer, ("kind", "name", "status", "created_at", "updated_at"),
                    [("person", f"Customer {i}", "active", _db_time(now), _db_time(now))
                     for i in range(customers)])
    first_id = Customer.select(Customer.id).order_by(Customer.id).first().id
    start = now - dt.timedelta(days=730)
    batch = []
    columns = ("customer", "type", "direction", "occurred_at", "amount", "currency", "lines",
               "source", "created_at")

    def flush():
        with write_transaction():
            bulk_insert(Interaction, columns, batch)
        batch.clear()

    for i in range(purchases):
        amount = Decimal(rng.randint(500, 50000)) / 100
        lines = None
        if i % 3 == 0:
            tools = (amount * Decimal("0.4")).quantize(Decimal("0.01"))
            lines = json.dumps([
                {"sku": f"T{i % 50}", "name": "Tool", "category": "tools", "quantity": "1",
                 "unit_price": str(tools), "total": str(tools)},
                {"sku": f"G{i % 70}", "name": "Other", "category": "garden", "quantity": "1",
                 "unit_price": str(amount - tools), "total": str(amount - tools)}])
        when = start + dt.timedelta(seconds=rng.randint(0, 730 * 86400))
        batch.append((first_id + rng.randrange(customers), "purchase", "inbound", _db_time(when),
                      str(amount) if sqlite else amount, "EUR", lines,
                      "import", _db_time(now)))
        if len(batch) >= 50_000:
            flush()
    flush()
    return customers, purchases


def programme():
    from crmkit.db import write_transaction
    from crmkit_loyalty import programmes
    with write_transaction():
        club = programmes.create_programme({
            "code": "club", "name": "Club", "currency": "EUR", "rounding": "down",
            "pending_days": 14, "expiry_policy": "year_end", "expiry_period": 1})
        programmes.create_rule(club, {"kind": "spend", "name": "Base",
                                      "points_per_unit": Decimal(1)})
        programmes.create_rule(club, {"kind": "category", "name": "Tools", "match": "tools",
                                      "multiplier": Decimal(2)})
        programmes.create_rule(club, {"kind": "first_purchase", "name": "Welcome",
                                      "points": 50})
    return club


def ledger_rows() -> list[tuple]:
    from crmkit.db import database
    names = ", ".join(f'"{c}"' for c in LEDGER_COLUMNS)
    return list(database.execute_sql(f"SELECT {names} FROM loyalty_transaction ORDER BY id"))


def copy_rows(table: str, rows: list[tuple], columns: list[str]) -> None:
    from crmkit.db import database, is_sqlite
    mark = "?" if is_sqlite() else "%s"
    names = ", ".join(f'"{c}"' for c in columns)
    database.cursor().executemany(
        f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(mark for _ in columns)})', rows)


def run(engine: str, purchases: int, server: str) -> dict:
    from crmkit import db
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as workdir:
        source, target = Database(engine, workdir, server), Database(engine, workdir, server)
        try:
            app = make_app(source.url)
            with app.app_context(), db.connection():
                t0 = time.perf_counter()
                customers, _ = fill_history(purchases)
                club = programme()
                setup = time.perf_counter() - t0
                from crmkit_loyalty.backfill import backfill
                t0 = time.perf_counter()
                result = backfill(club, evaluate=False)
                crmkit_time = time.perf_counter() - t0
                rows = ledger_rows()
                programmes_ = list(db.database.execute_sql("SELECT * FROM loyalty_programme"))
                p_cols = [c.name for c in db.database.get_columns("loyalty_programme")]
                members = list(db.database.execute_sql("SELECT * FROM loyalty_member"))
                m_cols = [c.name for c in db.database.get_columns("loyalty_member")]
                from crmkit_loyalty.ledger import check_member
                from crmkit_loyalty.models import Member
                sample = [m.id for m in Member.select(Member.id).order_by(db.database.random())
                          .limit(200)]
                problems = [p for i in sample for p in check_member(i)]
            other = make_app(target.url)
            with other.app_context(), db.connection():
                with db.write_transaction():
                    copy_rows("loyalty_programme", programmes_, p_cols)
                    copy_rows("loyalty_member", members, m_cols)
                t0 = time.perf_counter()
                with db.database.atomic():
                    copy_rows("loyalty_transaction", rows, list(LEDGER_COLUMNS))
                floor_time = time.perf_counter() - t0
        finally:
            db.release_connections()
            source.drop()
            target.drop()
    return {"engine": engine, "purchases": purchases, "customers": customers,
            "setup_s": setup, "crmkit_s": crmkit_time, "floor_s": floor_time,
            "ledger_rows": len(rows), "points": result.points, "problems": problems}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", default=os.environ.get("CRMKIT_TEST_POSTGRES_URL",
                                                             DEFAULT_PG))
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    for engine in engines:
        r = run(engine, args.purchases, args.postgres)
        ratio = r["floor_s"] / r["crmkit_s"]
        print(f"{engine}: {r['purchases']:,} purchases of {r['customers']:,} customers "
              f"-> {r['ledger_rows']:,} ledger rows, {r['points']:,} points "
              f"(set-up {r['setup_s']:.1f} s)")
        print(f"  crmkit backfill      {r['crmkit_s']:8.2f} s  "
              f"({r['purchases'] / r['crmkit_s']:,.0f} purchases/s)")
        print(f"  floor executemany    {r['floor_s']:8.2f} s  "
              f"({r['ledger_rows'] / r['floor_s']:,.0f} rows/s)")
        print(f"  ratio floor/crmkit   {ratio:8.2f}  (goal >= {GOAL}: "
              f"{'PASS' if ratio >= GOAL else 'MISS'})"
              f"; books of 200 sampled members: {'agree' if not r['problems'] else r['problems']}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
