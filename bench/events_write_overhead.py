#!/usr/bin/env python
"""What emitting an event adds to a write request.

Run with the venv's interpreter:

    python bench/events_write_overhead.py                     # SQLite, 2,000 requests per round
    python bench/events_write_overhead.py --requests 5000 --rounds 5
    python bench/events_write_overhead.py --database-url postgresql://postgres@127.0.0.1:5432/test

Two endpoints of one throwaway plugin, served by the same crmkit app through Flask's test client
(the whole request: routing, the request transaction, JSON in and out): one inserts a row, the
other inserts the same row and calls ``crmkit.events.emit`` in the same transaction. Rounds
alternate between them; the best round of each counts. Prints the time per request of each and
the ratio with/without (goal <= 1.1). Never fails on time.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

GOAL = 1.1


def build_app(url: str):
    import peewee
    from flask import request
    from flask.views import MethodView
    from flask_smorest import Blueprint

    from crmkit import Manifest, create_app, hookimpl
    from crmkit.auth.declare import public
    from crmkit.db import BaseModel
    from crmkit.events import emit
    from crmkit.schema import upgrade

    class Note(BaseModel):
        body = peewee.CharField(max_length=200)
        customer_id = peewee.IntegerField()

        class Meta:
            table_name = "benchev_note"

    blp = Blueprint("benchev", __name__, url_prefix="/notes")

    @blp.route("/plain")
    class Plain(MethodView):
        @public
        def post(self):
            data = request.get_json()
            note = Note.create(body=data["body"], customer_id=data["customer_id"])
            return {"id": note.id}, 201

    @blp.route("/evented")
    class Evented(MethodView):
        @public
        def post(self):
            data = request.get_json()
            note = Note.create(body=data["body"], customer_id=data["customer_id"])
            emit("benchev.note.added", {"id": note.id, "body": note.body,
                                        "customer_id": note.customer_id},
                 subject="customer", subject_id=note.customer_id)
            return {"id": note.id}, 201

    class Plugin:
        manifest = Manifest(name="benchev")

        @hookimpl
        def register_models(self):
            return [Note]

        @hookimpl
        def register_blueprints(self):
            return [blp]

    # The same (high) limits for both endpoints: the rate limiter is not what is measured.
    app = create_app({"DATABASE_URL": url, "RATE_LIMIT": "100000000 per minute",
                      "RATE_LIMIT_ANONYMOUS": "100000000 per minute"}, [Plugin()])
    upgrade(app.extensions["crmkit"].pm)
    return app


def round_time(client, path: str, count: int) -> float:
    """Seconds per request over ``count`` POSTs."""
    body = {"body": "called back about the invoice", "customer_id": 42}
    started = time.perf_counter()
    for _ in range(count):
        response = client.post(path, json=body)
        if response.status_code != 201:
            sys.exit(f"{path} answered {response.status_code}: {response.get_data(as_text=True)}")
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant (default 3)")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if url.startswith("postgres"):
            url = _fresh_schema(url)
        client = build_app(url).test_client()
        paths = {"without event": "/api/v1/benchev/notes/plain",
                 "with event": "/api/v1/benchev/notes/evented"}
        for path in paths.values():
            round_time(client, path, 200)  # warm-up, unmeasured
        best = {name: float("inf") for name in paths}
        for round_no in range(1, args.rounds + 1):
            for name, path in paths.items():  # alternated, so drift hits both equally
                per_request = round_time(client, path, args.requests)
                best[name] = min(best[name], per_request)
                print(f"round {round_no} {name:13}: {per_request * 1e6:8.1f} us/request")

    ratio = best["with event"] / best["without event"]
    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"floor  (write, no event, best) : {best['without event'] * 1e6:8.1f} us/request")
    print(f"crmkit (write + emit, best)    : {best['with event'] * 1e6:8.1f} us/request")
    print(f"ratio  with/without: {ratio:.3f}   ({engine}, {args.requests} requests x "
          f"{args.rounds} rounds)")
    print(f"goal   <= {GOAL}   {'PASS' if ratio <= GOAL else 'MISS'}")


def _fresh_schema(server_url: str) -> str:
    """A schema of its own on the server, so the benchmark never touches other tables."""
    import psycopg
    from urllib.parse import quote
    name = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    sep = "&" if "?" in server_url else "?"
    print(f"PostgreSQL schema {name} (drop it when done: DROP SCHEMA {name} CASCADE)")
    return f"{server_url}{sep}options={quote(f'-c search_path={name}')}"


if __name__ == "__main__":
    main()
