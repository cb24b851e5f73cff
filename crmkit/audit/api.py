"""``GET /api/v1/audit``: the audit trail, filtered, newest first. There is no way to write it."""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit.audit.query import audit_page
from crmkit.auth.declare import protect
from crmkit.pagination import clamp_limit

blp = protect(Blueprint("audit", __name__, url_prefix="/audit",
                        description="The audit trail (append-only)"), read="audit:read")


class AuditArgs(ma.Schema):
    object_type = f.String(validate=v.Length(max=100), metadata={"description": "customer, user"})
    object_id = f.String(validate=v.Length(max=64))
    user_id = f.Integer(metadata={"description": "Who acted"})
    action = f.String(validate=v.Length(max=60),
                      metadata={"description": "create, update, token.create ...; 'token.*' "
                                               "for a family"})
    request_id = f.String(validate=v.Length(max=64))
    since = f.AwareDateTime(default_timezone=dt.timezone.utc)
    until = f.AwareDateTime(default_timezone=dt.timezone.utc)
    cursor = f.String(validate=v.Length(max=500))
    limit = f.Integer(metadata={"description": "Page size; at most CRMKIT_MAX_PAGE_SIZE."})


class AuditEventOut(ma.Schema):
    id = f.Integer()
    at = f.AwareDateTime()
    user_id = f.Integer(attribute="actor_id", allow_none=True)
    actor = f.String()
    token_id = f.Integer(allow_none=True)
    action = f.String()
    object_type = f.String()
    object_id = f.String(allow_none=True)
    changes = f.Dict(allow_none=True, metadata={"description": "{field: [before, after]}"})
    detail = f.Dict(allow_none=True)
    request_id = f.String(allow_none=True)
    ip = f.String(allow_none=True)


class AuditPage(ma.Schema):
    items = f.List(f.Nested(AuditEventOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


@blp.route("")
class AuditTrail(MethodView):
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, AuditPage)
    def get(self, args):
        """Audit records, newest first, filtered by object, user, action, request and time."""
        maximum = int(current_app.extensions["crmkit"].config["MAX_PAGE_SIZE"])
        page = audit_page(object_type=args.get("object_type"), object_id=args.get("object_id"),
                          actor_id=args.get("user_id"), action=args.get("action"),
                          request_id=args.get("request_id"), since=args.get("since"),
                          until=args.get("until"), cursor=args.get("cursor"),
                          limit=clamp_limit(args.get("limit"), maximum))
        return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}
