#!/usr/bin/env python
"""The funnel report over 1,000,000 deals, against hand-written SQL for the same figures.

Run with the venv's interpreter:
``python bench/sales_funnel.py [--deals N] [--runs R] [--postgres URL]``.
It fills a temporary SQLite file (or an empty PostgreSQL database) with one pipeline of eight
stages, N deals spread over them and their stage history (each deal entered every stage up to
its current one), then times ``crmkit_sales.reports.funnel`` (what ``GET /reports/funnel``
runs) and the two hand-written GROUP BY statements that give the same figures, alternating,
R times each. Prints medians and the ratio; it never fails on time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

GOAL = 1.5
STAGES = [("New", 10, "open"), ("Contacted", 20, "open"), ("Visit", 30, "open"),
          ("Estimate", 40, "open"), ("Proposal", 60, "open"), ("Negotiation", 80, "open"),
          ("Won", 100, "won"), ("Lost", 0, "lost")]


def fill(deals: int, seed: int = 5) -> int:
    from crmkit.customers.models import Customer
    from crmkit.db import database, is_sqlite, write_transaction

    from crmkit_sales.models import Deal, Pipeline, Stage, StageHistory
    rng = random.Random(seed)
    with write_transaction():
        pipeline = Pipeline.create(name="Bench", currency="EUR")
        stages = [Stage.create(pipeline=pipeline, name=n, probability=p, kind=k, position=i)
                  for i, (n, p, k) in enumerate(STAGES, start=1)]
        customer = Customer.create(name="Bench", kind="person")
    open_stages = stages[:6]
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    batch = 4000  # rows per INSERT stay under PostgreSQL's 65,535 parameters
    deal_id = 0
    for start in range(0, deals, batch):
        deal_rows, history_rows = [], []
        for _ in range(min(batch, deals - start)):
            deal_id += 1
            depth = min(int(rng.expovariate(0.5)), 6)
            if depth == 6:
                final = stages[6] if rng.random() < 0.5 else stages[7]
                path = open_stages[:rng.randint(1, 6)] + [final]
            else:
                path = open_stages[:depth + 1]
            current = path[-1]
            deal_rows.append({"id": deal_id, "title": f"Deal {deal_id}", "pipeline": pipeline.id,
                              "stage": current.id, "status": current.kind,
                              "customer_id": customer.id, "owner_id": None,
                              "amount": f"{rng.randint(100, 50000)}.{rng.randint(0, 99):02d}",
                              "currency": "EUR" if rng.random() < 0.9 else "GBP",
                              "stage_entered_at": now, "created_at": now, "updated_at": now})
            for i, stage in enumerate(path):
                left = i < len(path) - 1
                history_rows.append({"deal": deal_id, "pipeline_id": pipeline.id,
                                     "stage": stage.id, "entered_at": now,
                                     "left_at": now if left else None,
                                     "seconds": rng.randint(600, 900000) if left else None})
        with write_transaction():
            Deal.insert_many(deal_rows).execute()
            for i in range(0, len(history_rows), batch):
                StageHistory.insert_many(history_rows[i:i + batch]).execute()
    if not is_sqlite():
        database.execute_sql("SELECT setval(pg_get_serial_sequence('sales_deal', 'id'), %s)",
                             (deal_id,))
    database.execute_sql("ANALYZE")
    return pipeline.id


def hand_written(pipeline_id: int, sqlite: bool):
    from crmkit.db import database
    money = "SUM(CAST(ROUND(amount * 100) AS INTEGER))" if sqlite else "SUM(amount)"
    p = "?" if sqlite else "%s"
    current = database.execute_sql(
        f"SELECT stage_id, currency, COUNT(*), {money} FROM sales_deal "
        f"WHERE pipeline_id = {p} GROUP BY stage_id, currency", (pipeline_id,)).fetchall()
    history = database.execute_sql(
        f"SELECT stage_id, COUNT(DISTINCT deal_id), AVG(seconds) FROM sales_stage_history "
        f"WHERE pipeline_id = {p} GROUP BY stage_id", (pipeline_id,)).fetchall()
    return current, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="an empty PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    from crmkit import db
    from crmkit.app import create_app
    from crmkit.schema import upgrade

    from crmkit_sales.reports import funnel
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"DATABASE_URL": url, "PLUGINS": "sales"})
        upgrade(app.extensions["crmkit"].pm)
        with app.app_context(), db.connection():
            started = time.perf_counter()
            pipeline_id = fill(args.deals)
            print(f"filled {args.deals} deals in {time.perf_counter() - started:.0f} s")
            sqlite = db.is_sqlite()
            report = funnel(pipeline_id)  # warm the page cache for both sides
            hand_written(pipeline_id, sqlite)
            assert sum(r["deals"] for r in report["rows"]) == args.deals
            times = {"sql": [], "report": []}
            for _ in range(args.runs):
                start = time.perf_counter()
                hand_written(pipeline_id, sqlite)
                times["sql"].append(time.perf_counter() - start)
                start = time.perf_counter()
                funnel(pipeline_id)
                times["report"].append(time.perf_counter() - start)
        db.release_connections()
    med = {k: statistics.median(v) for k, v in times.items()}
    engine = "SQLite" if sqlite else "PostgreSQL"
    print(f"engine: {engine}, deals: {args.deals}, runs: {args.runs}")
    print(f"floor  (hand-written SQL): median {med['sql'] * 1000:.0f} ms, "
          f"min {min(times['sql']) * 1000:.0f} ms")
    print(f"sales  (funnel report):    median {med['report'] * 1000:.0f} ms, "
          f"min {min(times['report']) * 1000:.0f} ms")
    ratio = med["report"] / med["sql"]
    print(f"ratio  median(report)/median(sql): {ratio:.2f}  (goal <= {GOAL}: "
          f"{'PASS' if ratio <= GOAL else 'MISS'})")


if __name__ == "__main__":
    main()
