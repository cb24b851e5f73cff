"""The floor for bench/healthz_throughput.py: Flask doing the same work as crmkit's /healthz.

Each request opens the SQLite file, runs ``SELECT 1``, closes it and answers JSON, as crmkit does
(one connection per request), minus the framework around it. The file comes from BARE_HEALTHZ_DB.
"""
from __future__ import annotations

import os
import sqlite3

from flask import Flask, jsonify

DB_PATH = os.environ.get("BARE_HEALTHZ_DB", ":memory:")

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    conn = sqlite3.connect(DB_PATH)
    try:
        conn.execute("SELECT 1").fetchone()
    finally:
        conn.close()
    return jsonify(status="ok", database={"ok": True, "engine": "sqlite"}, plugins=[])
