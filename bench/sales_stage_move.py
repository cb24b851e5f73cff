#!/usr/bin/env python
"""Moving a deal into a stage with three automations, against a plain field update of a deal.

Run with the venv's interpreter: ``python bench/sales_stage_move.py [--runs N] [--postgres URL]``.
Both operations go through the whole HTTP stack in-process (Flask's test client: token check,
permission, one transaction per request, JSON in and out) on the same deal, alternating, so
machine load hits both equally. Prints medians and the ratio; it never fails on time.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

GOAL = 3.0


def build_app(url: str):
    from crmkit import db
    from crmkit.app import create_app
    from crmkit.schema import upgrade
    from crmkit.testing import CrmkitClient, admin_token
    app = create_app({"DATABASE_URL": url, "PLUGINS": "sales", "RATE_LIMIT": "1000000 per second"})
    upgrade(app.extensions["crmkit"].pm)
    app.test_client_class = CrmkitClient
    admin_token(app)
    with app.app_context(), db.connection():
        pass
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="operations of each kind")
    parser.add_argument("--postgres", help="an empty PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = build_app(url)
        client = app.test_client()
        automations = [
            {"action": "create_task", "config": {"title": "Call {{ customer.name }}",
                                                 "kind": "call", "due": "+15 minutes"}},
            {"action": "notify", "config": {
                "to": ["owner"], "message": "{{ deal.title }} moved to {{ stage.name }}"}},
            {"action": "emit_event", "config": {"type": "sales.bench.entered"}},
        ]
        pipeline = client.post("/api/v1/sales/pipelines", json={"name": "Bench", "stages": [
            {"name": "A", "automations": automations},
            {"name": "B", "automations": automations}]}).json
        a, b = (s["id"] for s in pipeline["stages"])
        customer = client.post("/api/v1/customers", json={"first_name": "Bench",
                                                          "last_name": "Mark"}).json
        deal = client.post("/api/v1/sales/deals", json={"customer_id": customer["id"],
                                                        "title": "Bench deal"}).json
        move_url = f"/api/v1/sales/deals/{deal['id']}/move"
        patch_url = f"/api/v1/sales/deals/{deal['id']}"

        def plain(i):
            response = client.patch(patch_url, json={"title": f"Bench deal {i}"})
            assert response.status_code == 200, response.json

        def move(i):
            response = client.post(move_url, json={"stage_id": b if i % 2 == 0 else a})
            assert response.status_code == 200 and len(response.json["tasks"]) == 1, response.json

        for i in range(20):  # warm-up: caches, compiled templates, pooled connection
            plain(i)
            move(i)
        times = {"plain": [], "move": []}
        for i in range(args.runs):
            for name, op in (("plain", plain), ("move", move)):
                start = time.perf_counter()
                op(i)
                times[name].append(time.perf_counter() - start)
        from crmkit.db import release_connections
        release_connections()
    med = {k: statistics.median(v) for k, v in times.items()}
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"engine: {engine}, runs: {args.runs} of each")
    print(f"floor  (PATCH a deal's title):                  median {med['plain'] * 1000:.2f} ms, "
          f"min {min(times['plain']) * 1000:.2f} ms")
    print(f"sales  (move into a stage with 3 automations):  median {med['move'] * 1000:.2f} ms, "
          f"min {min(times['move']) * 1000:.2f} ms")
    ratio = med["move"] / med["plain"]
    print(f"ratio  median(move)/median(plain): {ratio:.2f}  (goal <= {GOAL}: "
          f"{'PASS' if ratio <= GOAL else 'MISS'})")


if __name__ == "__main__":
    main()
