#!/usr/bin/env python
"""Startup cost of ``crmkit --help`` against importing its dependencies and nothing else.

Run with the venv's interpreter: ``python bench/cli_startup.py [--runs N]``.
Prints medians and a ratio; it never fails on time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.5
FLOOR_IMPORTS = "import flask, flask_smorest, peewee, pluggy, click, marshmallow"


def wall_time(cmd: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    # Output is discarded so terminal speed does not leak into the measurement.
    subprocess.run(cmd, cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (default 20)")
    args = parser.parse_args()

    # The console script next to this interpreter, so floor and crmkit share one Python.
    crmkit = Path(sys.executable).parent / "crmkit"
    if not crmkit.exists():
        sys.exit(f"{crmkit} not found: run this with the Python of the venv where crmkit is installed")

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        # crmkit reads plugin state from the database; keep it (and any cwd-relative file) out of the repo.
        env = dict(os.environ, CRMKIT_DATABASE_URL=f"sqlite:///{Path(tmp) / 'bench.db'}")
        commands = {
            "floor": [sys.executable, "-c", FLOOR_IMPORTS],
            "crmkit": [str(crmkit), "--help"],
        }
        # One unmeasured run each: the first pays for .pyc writing and a cold page cache.
        for cmd in commands.values():
            wall_time(cmd, tmp, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        # Interleaved so drift in machine load hits both sides equally.
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(wall_time(cmd, tmp, env))

    med = {name: statistics.median(values) for name, values in times.items()}
    for name, label in (("floor", f"floor  (python -c '{FLOOR_IMPORTS}')"), ("crmkit", "crmkit (crmkit --help)")):
        print(f"{label}: median {med[name] * 1000:.1f} ms, min {min(times[name]) * 1000:.1f} ms")
    ratio = med["crmkit"] / med["floor"]
    print(f"ratio  median(crmkit)/median(floor): {ratio:.2f}   (runs: {args.runs})")
    print(f"goal   <= {GOAL}   {'PASS' if ratio <= GOAL else 'MISS'}")


if __name__ == "__main__":
    main()
