"""``GET /api/v1/events``: poll the event feed in order with a keyset cursor."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth.declare import protect
from crmkit.errors import ValidationError
from crmkit.events.feed import read_feed

blp = protect(Blueprint("events", __name__, url_prefix="/events",
                        description="The domain event feed (transactional outbox)"),
              read="events:read")

DEFAULT_LIMIT = 100


class FeedQuerySchema(ma.Schema):
    after = ma.fields.String(metadata={
        "description": "next_cursor of the previous page; omit to start at the oldest event"})
    type = ma.fields.List(ma.fields.String(), metadata={
        "description": "Event types to include: exact (customer.created), a prefix "
                       "(customer.*) or *; repeat the parameter or separate with commas"})
    subject = ma.fields.String(metadata={"description": "Only events about this kind of record"})
    subject_id = ma.fields.String(metadata={"description": "Only events about this record"})
    limit = ma.fields.Integer(metadata={
        "description": f"Page size (default {DEFAULT_LIMIT}, at most CRMKIT_MAX_PAGE_SIZE)"})


class EventSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "Unique event id (UUID)"})
    type = ma.fields.String()
    schema_version = ma.fields.Integer()
    occurred_at = ma.fields.String(metadata={"description": "UTC, ISO 8601"})
    subject = ma.fields.String(allow_none=True)
    subject_id = ma.fields.String(allow_none=True)
    payload = ma.fields.Dict()
    cursor = ma.fields.String(metadata={"description": "Position of this event in the feed"})


class FeedPageSchema(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(EventSchema))
    next_cursor = ma.fields.String(metadata={"description": "Pass as `after` for the next page"})
    has_more = ma.fields.Boolean()


def page_limit(requested: int | None, default: int = DEFAULT_LIMIT) -> int:
    maximum = int(current_app.config["CRMKIT_MAX_PAGE_SIZE"])
    if requested is None:
        return min(default, maximum)
    if not 1 <= requested <= maximum:
        raise ValidationError({"limit": f"Must be between 1 and {maximum}."})
    return requested


@blp.route("")
class EventFeed(MethodView):
    @blp.arguments(FeedQuerySchema, location="query")
    @blp.response(200, FeedPageSchema)
    def get(self, args):
        """Events in commit order, oldest first, after the given cursor."""
        types = [t.strip() for value in args.get("type", []) for t in value.split(",")
                 if t.strip()]
        page = read_feed(args.get("after"), types, page_limit(args.get("limit")),
                         args.get("subject"), args.get("subject_id"))
        return {"events": page.events, "next_cursor": page.next_cursor,
                "has_more": page.has_more}
