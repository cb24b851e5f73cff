"""Sales reports, computed in SQL (GROUP BY over deals, stage history and tasks), never by
walking rows in Python. Each report answers ``{"report", "columns", "rows", ...}``; the API
returns it as JSON or CSV, the command line as a table.

Amounts are per currency (``{"EUR": "1200.00"}``): adding euros to pounds would be a lie.
Every report sees only the deals and tasks the caller may see (object-level access).
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections import defaultdict

import peewee
from peewee import fn

from crmkit.auth import scoping
from crmkit.db import utcnow
from crmkit.errors import ValidationError
from crmkit.imports.csvfile import escape_formula

from crmkit_sales import people, sql
from crmkit_sales.models import LOST, OPEN, WON, Deal, Lead, Pipeline, Stage, StageHistory, Task

NONE = "(none)"
REPORTS = ("funnel", "sources", "activity", "revenue", "lost-reasons", "cycle")


def _deal_filters(query, start=None, end=None, owner_id=None, pipeline_id=None,
                  column=Deal.created_at):
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column < end)
    if owner_id is not None:
        query = query.where(Deal.owner_id == owner_id)
    if pipeline_id is not None:
        query = query.where(Deal.pipeline == pipeline_id)
    condition = scoping.scope_condition(Deal)
    return query if condition is None else query.where(condition)


def _amounts(rows, key_fields: int = 1) -> dict:
    """{key: {currency: Decimal}} from rows ending in (currency, summed money)."""
    out: dict = defaultdict(dict)
    for row in rows:
        key = row[:key_fields] if key_fields > 1 else row[0]
        currency, total = row[key_fields], row[key_fields + 1]
        if currency is not None:
            out[key][currency] = sql.money(total)
    return out


def _ratio(part: int, whole: int) -> decimal.Decimal | None:
    if not whole:
        return None
    return (decimal.Decimal(part) / decimal.Decimal(whole)).quantize(decimal.Decimal("0.0001"))


# -- funnel ---------------------------------------------------------------------------------------

def funnel(pipeline_id: int | None = None, start=None, end=None, owner_id=None) -> dict:
    """Per stage: deals in it now (count, amount), deals that ever entered it, conversion to the
    next stage, and average time spent in it (stays that ended)."""
    pipeline = (Pipeline.get_or_none(Pipeline.id == pipeline_id) if pipeline_id is not None
                else Pipeline.select().order_by(Pipeline.position, Pipeline.id).first())
    if pipeline is None:
        raise ValidationError({"pipeline_id": "No such pipeline."}, location="query")
    stages = list(Stage.select().where(Stage.pipeline == pipeline)
                  .order_by(Stage.position, Stage.id))
    current = _deal_filters(
        Deal.select(Deal.stage, fn.COUNT(Deal.id), Deal.currency, sql.money_sum(Deal.amount))
        .where(Deal.pipeline == pipeline), start, end, owner_id)
    counts: dict = defaultdict(int)
    amounts: dict = defaultdict(dict)
    for stage_id, count, currency, total in current.group_by(Deal.stage, Deal.currency).tuples():
        counts[stage_id] += count
        amounts[stage_id][currency] = sql.money(total)
    history = (StageHistory.select(StageHistory.stage,
                                   fn.COUNT(fn.DISTINCT(StageHistory.deal)),
                                   fn.AVG(StageHistory.seconds))
               .where(StageHistory.pipeline_id == pipeline.id))
    if start is not None or end is not None or owner_id is not None \
            or scoping.scope_condition(Deal) is not None:
        history = _deal_filters(history.join(Deal, on=(StageHistory.deal == Deal.id)), start,
                                end, owner_id)
    entered, seconds = {}, {}
    for stage_id, count, avg in history.group_by(StageHistory.stage).tuples():
        entered[stage_id] = count
        seconds[stage_id] = None if avg is None else int(round(float(avg)))
    path = [s for s in stages if s.kind == OPEN] + [s for s in stages if s.kind == WON][:1]
    next_of = {a.id: b.id for a, b in zip(path, path[1:])}
    rows = []
    for stage in stages:
        nxt = next_of.get(stage.id)
        rows.append({
            "stage_id": stage.id, "stage": stage.name, "kind": stage.kind,
            "probability": stage.probability, "deals": counts.get(stage.id, 0),
            "amount": amounts.get(stage.id, {}), "entered": entered.get(stage.id, 0),
            "conversion": (_ratio(entered.get(nxt, 0), entered.get(stage.id, 0))
                           if nxt is not None else None),
            "avg_seconds_in_stage": seconds.get(stage.id),
            "avg_days_in_stage": (None if seconds.get(stage.id) is None
                                  else round(seconds[stage.id] / 86400, 2)),
        })
    first = entered.get(path[0].id, 0) if path else 0
    won = sum(entered.get(s.id, 0) for s in stages if s.kind == WON)
    return {"report": "funnel", "pipeline": {"id": pipeline.id, "name": pipeline.name},
            "columns": ["stage", "kind", "probability", "deals", "amount", "entered",
                        "conversion", "avg_days_in_stage"],
            "rows": rows, "win_rate": _ratio(won, first)}


# -- enquiry-to-sale by source --------------------------------------------------------------------

def sources(start=None, end=None) -> dict:
    """Enquiries (leads, plus deals that did not come from a lead), deals, deals won and revenue
    by source."""
    # Grouped by the bare column: PostgreSQL does not see two COALESCE(x, $n) as one expression.
    src = Lead.source
    leads = Lead.select(src, fn.COUNT(Lead.id))
    if start is not None:
        leads = leads.where(Lead.created_at >= start)
    if end is not None:
        leads = leads.where(Lead.created_at < end)
    condition = scoping.scope_condition(Lead)
    if condition is not None:
        leads = leads.where(condition)
    enquiries = defaultdict(int)
    for source, count in leads.group_by(src).tuples():
        enquiries[source or NONE] += count
    dsrc = Deal.source
    won_case = fn.SUM(peewee.Case(None, [(Deal.status == WON, 1)], 0))
    deals = _deal_filters(Deal.select(dsrc, fn.COUNT(Deal.id), won_case,
                                      fn.SUM(peewee.Case(None, [(Deal.lead.is_null(), 1)], 0))),
                          start, end)
    counts = {}
    for source, count, won, direct in deals.group_by(dsrc).tuples():
        counts[source or NONE] = (count, int(won or 0))
        enquiries[source or NONE] += int(direct or 0)
    won = _deal_filters(Deal.select(dsrc, Deal.currency, sql.money_sum(Deal.amount))
                        .where(Deal.status == WON), start, end)
    revenue = _amounts((source or NONE, currency, total) for source, currency, total
                       in won.group_by(dsrc, Deal.currency).tuples())
    rows = []
    for source in sorted(set(enquiries) | set(counts)):
        deals_n, won_n = counts.get(source, (0, 0))
        rows.append({"source": source, "enquiries": enquiries.get(source, 0), "deals": deals_n,
                     "won": won_n, "conversion": _ratio(won_n, enquiries.get(source, 0)),
                     "revenue": revenue.get(source, {})})
    rows.sort(key=lambda r: (-r["won"], -r["enquiries"], r["source"]))
    return {"report": "sources", "columns": ["source", "enquiries", "deals", "won", "conversion",
                                              "revenue"], "rows": rows}


# -- activity per manager -------------------------------------------------------------------------

def activity(start=None, end=None, now: dt.datetime | None = None) -> dict:
    """Per assignee: calls, meetings, visits and tasks done in the period; open and overdue now."""
    now = now or utcnow()
    done = Task.status == "done"
    in_period = done
    if start is not None:
        in_period = in_period & (Task.completed_at >= start)
    if end is not None:
        in_period = in_period & (Task.completed_at < end)

    def count(condition):
        return fn.SUM(peewee.Case(None, [(condition, 1)], 0))

    query = Task.select(
        Task.assignee_id, count(in_period & (Task.kind == "call")),
        count(in_period & (Task.kind == "meeting")), count(in_period & (Task.kind == "visit")),
        count(in_period), count(Task.status == "open"),
        count((Task.status == "open") & (Task.due_at < now)),
    ).where(Task.assignee_id.is_null(False)).group_by(Task.assignee_id)
    query = scoping.visible(query, Task)
    raw = list(query.tuples())
    names = people.user_names([r[0] for r in raw])
    rows = [{"user_id": r[0], "user": names.get(r[0]), "calls": int(r[1] or 0),
             "meetings": int(r[2] or 0), "visits": int(r[3] or 0), "done": int(r[4] or 0),
             "open": int(r[5] or 0), "overdue": int(r[6] or 0)} for r in raw]
    rows.sort(key=lambda r: (-r["done"], r["user"] or ""))
    return {"report": "activity", "columns": ["user", "calls", "meetings", "visits", "done",
                                               "open", "overdue"], "rows": rows}


# -- revenue, lost reasons, cycle -----------------------------------------------------------------

def revenue(grain: str = "month", by: str | None = None, start=None, end=None) -> dict:
    """Won deals by period of winning, optionally by owner or source."""
    if grain not in sql.GRAINS:
        raise ValidationError({"grain": f"One of: {', '.join(sql.GRAINS)}."}, location="query")
    if by not in (None, "owner", "source"):
        raise ValidationError({"by": "One of: owner, source."}, location="query")
    period = sql.period(Deal.won_at, grain)
    keys = [period]
    if by == "owner":
        keys.append(Deal.owner_id)
    elif by == "source":
        keys.append(Deal.source)
    query = _deal_filters(Deal.select(*keys, Deal.currency, fn.COUNT(Deal.id),
                                      sql.money_sum(Deal.amount)).where(Deal.status == WON),
                          start, end, column=Deal.won_at)
    raw = list(query.group_by(*keys, Deal.currency).order_by(*keys, Deal.currency).tuples())
    names = people.user_names([r[1] for r in raw]) if by == "owner" else {}
    rows = []
    for r in raw:
        row = {"period": r[0]}
        if by == "owner":
            row.update(owner_id=r[1], owner=names.get(r[1]))
        elif by == "source":
            row["source"] = r[1] or NONE
        row.update(currency=r[-3], deals=r[-2], amount=sql.money(r[-1]))
        rows.append(row)
    columns = ["period"] + (["owner"] if by == "owner" else ["source"] if by == "source" else [])
    return {"report": "revenue", "grain": grain, "by": by,
            "columns": columns + ["currency", "deals", "amount"], "rows": rows}


def lost_reasons(start=None, end=None) -> dict:
    reason = Deal.lost_reason
    query = _deal_filters(Deal.select(reason, Deal.currency, fn.COUNT(Deal.id),
                                      sql.money_sum(Deal.amount)).where(Deal.status == LOST),
                          start, end, column=Deal.lost_at)
    rows = [{"reason": r[0] or NONE, "currency": r[1], "deals": r[2], "amount": sql.money(r[3])}
            for r in query.group_by(reason, Deal.currency).tuples()]
    rows.sort(key=lambda r: (-r["deals"], r["reason"]))
    return {"report": "lost-reasons", "columns": ["reason", "currency", "deals", "amount"],
            "rows": rows}


def cycle(start=None, end=None, by_owner: bool = False) -> dict:
    """Sales-cycle length of won deals (created to won), in days."""
    seconds = sql.seconds_between(Deal.created_at, Deal.won_at)
    keys = [Deal.owner_id] if by_owner else []
    query = _deal_filters(Deal.select(*keys, fn.COUNT(Deal.id), fn.AVG(seconds), fn.MIN(seconds),
                                      fn.MAX(seconds)).where(Deal.status == WON),
                          start, end, column=Deal.won_at)
    if keys:
        query = query.group_by(*keys)
    raw = [r for r in query.tuples() if r[len(keys)]]
    names = people.user_names([r[0] for r in raw]) if by_owner else {}

    def days(value):
        return None if value is None else round(float(value) / 86400, 2)

    rows = []
    for r in raw:
        row = {"owner_id": r[0], "owner": names.get(r[0])} if by_owner else {}
        row.update(deals=r[len(keys)], avg_days=days(r[len(keys) + 1]),
                   min_days=days(r[len(keys) + 2]), max_days=days(r[len(keys) + 3]))
        rows.append(row)
    columns = (["owner"] if by_owner else []) + ["deals", "avg_days", "min_days", "max_days"]
    return {"report": "cycle", "columns": columns, "rows": rows}


# -- output ---------------------------------------------------------------------------------------

def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{amount} {currency}" for currency, amount in sorted(value.items()))
    return str(value)


def to_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(report["columns"])
    for row in report["rows"]:
        # Text (a deal title, a stage or owner name) that a spreadsheet would run as a formula
        # is written with a leading '; figures are written as they are.
        writer.writerow([escape_formula(value) if isinstance(value, str) else cell(value)
                         for value in (row.get(c) for c in report["columns"])])
    return out.getvalue()


def to_table(report: dict) -> str:
    """A plain-text table for the command line."""
    header = report["columns"]
    body = [[cell(row.get(c)) for c in header] for row in report["rows"]]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in body]
    return "\n".join(line.rstrip() for line in lines)


def run(name: str, **params) -> dict:
    if name == "funnel":
        return funnel(params.get("pipeline_id"), params.get("start"), params.get("end"),
                      params.get("owner_id"))
    if name == "sources":
        return sources(params.get("start"), params.get("end"))
    if name == "activity":
        return activity(params.get("start"), params.get("end"))
    if name == "revenue":
        return revenue(params.get("grain") or "month", params.get("by"), params.get("start"),
                       params.get("end"))
    if name == "lost-reasons":
        return lost_reasons(params.get("start"), params.get("end"))
    if name == "cycle":
        return cycle(params.get("start"), params.get("end"), params.get("by") == "owner")
    raise ValidationError({"report": f"One of: {', '.join(REPORTS)}."})
