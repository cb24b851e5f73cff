#!/usr/bin/env python
"""What emitting an event adds to a write request.

Run with the venv's interpreter:

    python bench/events_write_overhead.py                     # SQLite, 3,000 requests each
    python bench/events_write_overhead.py --requests 10000
    python bench/events_write_overhead.py --database-url postgresql://postgres@127.0.0.1:5432/test

Two endpoints of one throwaway plugin, served by the same crmkit app through Flask's test client
(the whole request: routing, the request transaction, JSON in and out): one inserts a row, the
other inserts the same row and calls ``crmkit.events.emit`` in the same transaction. Requests
alternate between the two, one by one; prints the median time of each and the ratio
with/without (goal <= 1.1). Never fails on time.
"""
from __future__ import annotations

import argparse
import statistics
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


def timed_post(client, path: str) -> float:
    body = {"body": "called back about the invoice", "customer_id": 42}
    started = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        sys.exit(f"{path} answered {response.status_code}: {response.get_data(as_text=True)}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000,
                        help="requests per variant (default 3000)")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if url.startswith("postgres"):
            url = _fresh_schema(url)
        client = build_app(url).test_client()
        paths = {"without event": "/api/v1/benchev/notes/plain",
                 "with event": "/api/v1/benchev/notes/evented"}
        for _ in range(200):  # warm-up, unmeasured
            for path in paths.values():
                timed_post(client, path)
        times = {name: [] for name in paths}
        names = list(paths)
        for i in range(args.requests):
            # Interleaved request by request, first one then the other first, so a busy machine
            # slows both sides alike.
            for name in (names if i % 2 else names[::-1]):
                times[name].append(timed_post(client, paths[name]))

    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["with event"] / median["without event"]
    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"floor  (write, no event, median): {median['without event'] * 1e6:8.1f} us/request")
    print(f"crmkit (write + emit, median)   : {median['with event'] * 1e6:8.1f} us/request")
    print(f"ratio  with/without: {ratio:.3f}   ({engine}, {args.requests} requests each, "
          "interleaved)")
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
