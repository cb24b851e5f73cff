#!/usr/bin/env python
"""Loyalty tier evaluation over N members against hand-written SQL producing the same result.

Run with the venv's interpreter (crmkit and crmkit-loyalty installed):

    python bench/loyalty_tiers.py                        # 1,000,000 members, both engines
    python bench/loyalty_tiers.py --members 100000 --engine sqlite --changed 0.4

Set-up (not timed): a programme with four tiers measured in points per calendar year, kept to
the end of the next year (the scheme of the plugin's tests); N members in the entry tier; two
qualifying ledger rows each (last year and this year) drawn so that about ``--changed`` of the
members move (default 0.1: a year-end evaluation; 0.4 resembles a programme's first one).

- crmkit: ``crmkit_loyalty.tiers.evaluate_tiers(programme)``: computes every member's tier in
  SQL, writes the history, moves the members and emits one ``loyalty.tier.changed`` event per
  member that moved.
- floor: hand-written SQL for the same result on the same data (reset in between): the
  aggregate LEFT JOINed to every member (so one who earned nothing falls back too) into a
  temporary table, one DELETE of the unchanged, one INSERT of the history, one UPDATE ... FROM,
  one INSERT of the events built by the database (JSON and UUIDs in SQL).

Both run in one transaction each. Prints both times and the ratio crmkit/floor (goal <= 2) and
checks that both gave every member the same tier. Never fails on time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from loyalty_backfill import DEFAULT_PG, Database, make_app  # noqa: E402

GOAL = 2.0
TIERS = (("Bronze", 0, 0), ("Silver", 1, 1000), ("Gold", 2, 3000), ("Platinum", 3, 8000))


def setup(members: int, changed: float, now: dt.datetime, seed: int = 2):
    from decimal import Decimal

    from crmkit.db import write_transaction
    from crmkit_loyalty import programmes
    from crmkit_loyalty.backfill import _db_time, bulk_insert
    from crmkit_loyalty.models import Member, Transaction
    rng = random.Random(seed)
    with write_transaction():
        club = programmes.create_programme({
            "code": "club", "name": "Club", "currency": "EUR", "tier_measure": "points",
            "tier_window": "calendar_year", "tier_downgrade": "end_of_next_period"})
        tiers = [programmes.create_tier(club, {"name": n, "rank": r, "threshold": Decimal(t)})
                 for n, r, t in TIERS]
        stamp = _db_time(now)
        bulk_insert(Member, ("programme", "customer_id", "member_number", "tier", "tier_since",
                             "status", "points_balance", "points_owed", "enrolled_at",
                             "enrolled_via", "updated_at"),
                    [(club.id, i + 1, f"M{i + 1:09d}", tiers[0].id, stamp, "active", 0, 0, stamp,
                      "import", stamp) for i in range(members)])
    first = Member.select(Member.id).order_by(Member.id).first().id
    last_year = _db_time(dt.datetime(now.year - 1, 6, 1, tzinfo=dt.timezone.utc))
    this_year = _db_time(dt.datetime(now.year, 1, 2, tzinfo=dt.timezone.utc))
    rows = []
    for member_id in range(first, first + members):
        moves = rng.random() < changed
        best = rng.choice([1000, 1500, 3000, 4200, 8000, 9100]) if moves else rng.randint(0, 999)
        split = rng.randint(0, best)
        for points, when in ((split, last_year), (best - split, this_year)):
            if points:
                rows.append((club.id, member_id, "earn", points, points, 0, "purchase", when,
                             when))
        if len(rows) >= 100_000:
            with write_transaction():
                bulk_insert(Transaction, ("programme", "member", "kind", "points",
                                          "qualifying_points", "shortfall", "cause",
                                          "occurred_at", "created_at"), rows)
            rows = []
    with write_transaction():
        bulk_insert(Transaction, ("programme", "member", "kind", "points", "qualifying_points",
                                  "shortfall", "cause", "occurred_at", "created_at"), rows)
    from crmkit.db import database, is_sqlite
    database.execute_sql("ANALYZE" if is_sqlite() else
                         "ANALYZE loyalty_member, loyalty_transaction, loyalty_tier")
    return club, tiers


def reset(tiers) -> None:
    from crmkit.db import database, write_transaction
    with write_transaction():
        database.execute_sql("UPDATE loyalty_member SET tier_id = %d, tier_kept_until = NULL"
                             % tiers[0].id)
        database.execute_sql("DELETE FROM loyalty_tier_change")
        database.execute_sql("DELETE FROM event WHERE type = 'loyalty.tier.changed'")


def floor_sql(club, tiers, as_of: dt.datetime) -> list[str]:
    """The evaluation as a DBA would write it by hand, for this programme's tiers."""
    from crmkit.db import is_sqlite
    sqlite = is_sqlite()
    y = as_of.year

    def stamp(value: dt.datetime) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S")

    this_start, prev_start = stamp(dt.datetime(y, 1, 1)), stamp(dt.datetime(y - 1, 1, 1))
    now = stamp(as_of)
    best = ("MAX(COALESCE(now_v, 0), COALESCE(prev_v, 0))" if sqlite
            else "GREATEST(COALESCE(now_v, 0), COALESCE(prev_v, 0))")
    ranked = " ".join(f"WHEN {best} >= {t.threshold:f} THEN {t.id}"
                      for t in sorted(tiers, key=lambda t: -t.rank))
    uuid = ("lower(hex(randomblob(16)))" if sqlite else "gen_random_uuid()")
    tier_names = " ".join(f"WHEN {t.id} THEN '{t.name}'" for t in tiers)
    json = "json_object" if sqlite else "json_build_object"
    payload = (f"{json}('as_of', '{as_of.isoformat()}', 'customer_id', customer_id, "
               f"'direction', 'up', 'from', CASE old_tier {tier_names} END, "
               f"'measure', CAST(measure AS TEXT), 'member_id', member_id, "
               f"'programme', '{club.code}', 'reason', 'evaluation', "
               f"'to', CASE new_tier {tier_names} END)")
    return [
        "DROP TABLE IF EXISTS floor_eval",
        f"""CREATE TEMPORARY TABLE floor_eval AS
            SELECT m.id AS member_id, m.customer_id, m.tier_id AS old_tier,
                   CASE {ranked} END AS new_tier,
                   CAST(NULL AS {"TEXT" if sqlite else "TIMESTAMP"}) AS kept,
                   {best} AS measure
            FROM loyalty_member m
            LEFT JOIN (SELECT member_id,
                         SUM(CASE WHEN occurred_at >= '{this_start}' THEN qualifying_points
                                  ELSE 0 END) AS now_v,
                         SUM(CASE WHEN occurred_at < '{this_start}' THEN qualifying_points
                                  ELSE 0 END) AS prev_v
                  FROM loyalty_transaction
                  WHERE programme_id = {club.id} AND qualifying_points <> 0
                    AND occurred_at >= '{prev_start}' AND occurred_at < '{now}'
                  GROUP BY member_id) a ON a.member_id = m.id
            WHERE m.programme_id = {club.id} AND m.status = 'active'""",
        "DELETE FROM floor_eval WHERE new_tier = old_tier",
        f"""INSERT INTO loyalty_tier_change (member_id, from_tier_id, to_tier_id, reason, measure,
                                            changed_at)
            SELECT member_id, old_tier, new_tier, 'evaluation', measure, '{now}' FROM floor_eval""",
        f"""UPDATE loyalty_member SET tier_id = e.new_tier, tier_kept_until = e.kept,
                                     tier_since = '{now}'
            FROM floor_eval e WHERE loyalty_member.id = e.member_id""",
        f"""INSERT INTO event (uuid, type, schema_version, occurred_at, subject, subject_id,
                               payload)
            SELECT {uuid}, 'loyalty.tier.changed', 1, '{now}', 'customer',
                   CAST(customer_id AS TEXT), {payload}{'' if sqlite else '::text'}
            FROM floor_eval""",
        "DROP TABLE floor_eval",
    ]


def tiers_now() -> dict[int, int]:
    from crmkit.db import database
    return dict(database.execute_sql("SELECT id, tier_id FROM loyalty_member").fetchall())


def run(engine: str, members: int, changed: float, server: str) -> dict:
    from crmkit import db
    from crmkit.db import utcnow
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as workdir:
        database = Database(engine, workdir, server)
        try:
            app = make_app(database.url)
            with app.app_context(), db.connection():
                now = utcnow().replace(microsecond=0)
                t0 = time.perf_counter()
                club, tiers = setup(members, changed, now)
                setup_time = time.perf_counter() - t0
                from crmkit_loyalty.tiers import evaluate_tiers
                times = {"crmkit": [], "floor": []}
                results = {}
                for _round in range(2):  # alternate, so drift in machine load hits both
                    reset(tiers)
                    t0 = time.perf_counter()
                    with db.write_transaction():
                        outcome = evaluate_tiers(club, as_of=now)
                    times["crmkit"].append(time.perf_counter() - t0)
                    results["crmkit"] = tiers_now()
                    reset(tiers)
                    t0 = time.perf_counter()
                    with db.write_transaction():
                        for statement in floor_sql(club, tiers, now):
                            db.database.execute_sql(statement)
                    times["floor"].append(time.perf_counter() - t0)
                    results["floor"] = tiers_now()
        finally:
            db.release_connections()
            database.drop()
    return {"engine": engine, "members": members, "setup_s": setup_time,
            "crmkit_s": min(times["crmkit"]), "floor_s": min(times["floor"]),
            "changed": outcome.changed, "same": results["crmkit"] == results["floor"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.1,
                        help="share of members whose tier changes (default 0.1)")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", default=os.environ.get("CRMKIT_TEST_POSTGRES_URL",
                                                             DEFAULT_PG))
    args = parser.parse_args()
    for engine in (["sqlite", "postgresql"] if args.engine == "both" else [args.engine]):
        r = run(engine, args.members, args.changed, args.postgres)
        ratio = r["crmkit_s"] / r["floor_s"]
        print(f"{engine}: {r['members']:,} members, {r['changed']:,} changed tier "
              f"(set-up {r['setup_s']:.1f} s); best of 2 runs each")
        print(f"  crmkit evaluate_tiers  {r['crmkit_s']:8.2f} s")
        print(f"  floor hand-written SQL {r['floor_s']:8.2f} s")
        print(f"  ratio crmkit/floor     {ratio:8.2f}  (goal <= {GOAL}: "
              f"{'PASS' if ratio <= GOAL else 'MISS'}); same tiers: {r['same']}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
