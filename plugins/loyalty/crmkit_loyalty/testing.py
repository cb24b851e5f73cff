"""Helpers for tests of loyalty (this plugin's, and any that drive loyalty through the API): calls
that assert their status, and a check that every member's books agree."""
from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class Api:
    """Calls that assert their status, so a test reads as the story it tells."""

    def __init__(self, client):
        self.client = client

    def call(self, method, path, expect, **kwargs):
        response = getattr(self.client, method)(f"/api/v1{path}", **kwargs)
        body = response.json if response.data else None
        assert response.status_code == expect, (method, path, response.status_code, body)
        return body

    def post(self, path, json=None, expect=201, **kw):
        return self.call("post", path, expect, json=json or {}, **kw)

    def get(self, path, expect=200, **kw):
        return self.call("get", path, expect, **kw)

    def patch(self, path, json, expect=200):
        return self.call("patch", path, expect, json=json)

    def customer(self, name="Ada Lovelace", **data):
        first, _, last = name.partition(" ")
        return self.post("/customers", {"first_name": first, "last_name": last or "X", **data})

    def purchase(self, customer_id, amount, when=None, currency="EUR", lines=None, **data):
        body = {"type": "purchase", "amount": str(amount), "currency": currency, **data}
        if when is not None:
            body["occurred_at"] = when.isoformat()
        if lines is not None:
            body["lines"] = lines
        return self.post(f"/customers/{customer_id}/interactions", body)

    def refund(self, customer_id, amount, purchase_id=None, when=None, currency="EUR"):
        body = {"type": "refund", "amount": str(amount), "currency": currency}
        if purchase_id is not None:
            body["payload"] = {"purchase_id": purchase_id}
        if when is not None:
            body["occurred_at"] = when.isoformat()
        return self.post(f"/customers/{customer_id}/interactions", body)

    def programme(self, code="club", rate="1", **data):
        body = {"code": code, "name": code.title(), "currency": "EUR", **data}
        programme = self.post("/loyalty/programmes", body)
        if rate is not None:
            self.post(f"/loyalty/programmes/{programme['id']}/rules",
                      {"kind": "spend", "name": "Base", "points_per_unit": str(rate)})
        return programme

    def member_of(self, programme_id, customer_id):
        page = self.get(f"/loyalty/programmes/{programme_id}/members?customer_id={customer_id}")
        assert len(page["items"]) == 1, page
        return page["items"][0]

    def statement(self, member_id):
        return self.get(f"/loyalty/members/{member_id}/statement")



def check_books(app, member_ids=None):
    """Balance == ledger == lots, allocations agree, nothing negative, for every member."""
    from crmkit import db
    from crmkit_loyalty.ledger import check_member
    from crmkit_loyalty.models import Member
    with app.app_context(), db.connection():
        ids = member_ids or [m.id for m in Member.select(Member.id)]
        problems = {i: check_member(i) for i in ids}
    assert not any(problems.values()), problems
