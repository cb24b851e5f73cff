"""The floor for bench/healthz_throughput.py: Flask doing the same work as crmkit's /healthz.

Each request runs ``SELECT 1`` on a SQLite connection kept per thread (crmkit pools its
connections the same way) and answers JSON, minus the framework around it. The file comes from
BARE_HEALTHZ_DB.
"""
from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, jsonify

DB_PATH = os.environ.get("BARE_HEALTHZ_DB", ":memory:")

app = Flask(__name__)
_local = threading.local()


def _connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(DB_PATH)
    return conn


@app.get("/healthz")
def healthz():
    _connection().execute("SELECT 1").fetchone()
    return jsonify(status="ok", database={"ok": True, "engine": "sqlite"}, plugins=[])
