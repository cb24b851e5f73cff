"""What the sales API modules share: page shapes, the acting user, JSON-ready report data."""
from __future__ import annotations

import datetime as dt
import decimal

from flask import Response, current_app, jsonify

from crmkit_sales import people


def max_page() -> int:
    return int(current_app.config["CRMKIT_MAX_PAGE_SIZE"])


def page(result, dump) -> dict:
    return {"items": dump(result.items), "next_cursor": result.next_cursor,
            "limit": result.limit}


def by_user() -> int | None:
    return people.acting_user_id()


def jsonable(value):
    """Reports as JSON: money and ratios as strings, dates in ISO 8601."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def report_response(report: dict, fmt: str = "json") -> Response:
    if fmt == "csv":
        from crmkit_sales.reports import to_csv
        return Response(to_csv(report), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{report["report"]}.csv"'})
    return jsonify(jsonable(report))
