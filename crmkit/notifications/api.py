"""``/api/v1/notifications``: the signed-in user's inbox and channel preferences."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth.declare import AUTHENTICATED, protect
from crmkit.auth.principal import current_principal
from crmkit.errors import ValidationError
from crmkit.events.api import page_limit
from crmkit.notifications import service

# Everyone signed in has an inbox; each endpoint only ever touches the caller's own rows.
blp = protect(Blueprint("notifications", __name__, url_prefix="/notifications",
                        description="Your notifications and how they reach you"),
              read=AUTHENTICATED, write=AUTHENTICATED)


def _me() -> int:
    principal = current_principal()
    if principal is None:  # pragma: no cover - the gate lets no anonymous request through
        raise ValidationError({"user": "Notifications belong to a signed-in user."})
    return principal.user_id


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    message = ma.fields.String()
    link = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    read_at = ma.fields.AwareDateTime(allow_none=True)
    read = ma.fields.Function(lambda n: n.read_at is not None)


class InboxQuerySchema(ma.Schema):
    unread = ma.fields.Boolean(load_default=False, metadata={"description": "Only unread ones"})
    before = ma.fields.Integer(metadata={"description": "next_before of the previous page"})
    limit = ma.fields.Integer()


class InboxSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    unread_count = ma.fields.Integer()
    next_before = ma.fields.Integer(allow_none=True)


class MarkedSchema(ma.Schema):
    marked = ma.fields.Integer()


class PreferenceSchema(ma.Schema):
    kind = ma.fields.String(dump_only=True)
    in_app = ma.fields.Boolean(required=True)
    email = ma.fields.Boolean(required=True)


@blp.route("")
class Inbox(MethodView):
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, InboxSchema)
    def get(self, args):
        """Your notifications, newest first."""
        limit = page_limit(args.get("limit"), default=50)
        me = _me()
        rows = service.inbox(me, args["unread"], args.get("before"), limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": rows, "unread_count": service.unread_count(me),
                "next_before": rows[-1].id if more else None}


@blp.route("/<int:notification_id>/read")
class MarkRead(MethodView):
    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one of your notifications read."""
        return service.mark_read(_me(), notification_id)


@blp.route("/read-all")
class MarkAllRead(MethodView):
    @blp.response(200, MarkedSchema)
    def post(self):
        """Mark all your notifications read."""
        return {"marked": service.mark_all_read(_me())}


@blp.route("/preferences")
class Preferences(MethodView):
    @blp.response(200, PreferenceSchema(many=True))
    def get(self):
        """Your channel choices per kind (kind * is your default; with no row, both are on)."""
        return service.preferences(_me())


@blp.route("/preferences/<string:kind>")
class Preference(MethodView):
    @blp.arguments(PreferenceSchema)
    @blp.response(200, PreferenceSchema)
    def put(self, data, kind):
        """Choose the channels for one kind (or * for every kind without its own choice)."""
        return service.set_preference(_me(), kind, data["in_app"], data["email"])

    @blp.response(204)
    def delete(self, kind):
        """Forget the choice for one kind."""
        service.clear_preference(_me(), kind)
