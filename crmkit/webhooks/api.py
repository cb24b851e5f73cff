"""``/api/v1/webhooks``: subscriptions, their delivery log and redelivery."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth.declare import protect
from crmkit.events.api import page_limit
from crmkit.webhooks import delivery as deliveries_mod
from crmkit.webhooks import subscriptions as subs

blp = protect(Blueprint("webhooks", __name__, url_prefix="/webhooks",
                        description="Webhook subscriptions and deliveries"),
              read="webhooks:read", write="webhooks:manage")


def _config():
    return current_app.extensions["crmkit"].config


class SubscriptionCreateSchema(ma.Schema):
    url = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    event_types = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "Event types: exact (customer.created), prefix (customer.*) or *"})
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=300))
    secret = ma.fields.String(metadata={
        "description": "Signing secret (at least 16 characters); generated when omitted"})
    active = ma.fields.Boolean(load_default=True)


class SubscriptionUpdateSchema(ma.Schema):
    url = ma.fields.String(validate=ma.validate.Length(min=1, max=2000))
    event_types = ma.fields.List(ma.fields.String())
    description = ma.fields.String(validate=ma.validate.Length(max=300))
    active = ma.fields.Boolean(metadata={
        "description": "false switches it off; true switches it on and clears the failure run"})


class SubscriptionSchema(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    description = ma.fields.String()
    event_types = ma.fields.List(ma.fields.String())
    active = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True)
    disabled_at = ma.fields.AwareDateTime(allow_none=True)
    consecutive_failures = ma.fields.Integer()
    failing_since = ma.fields.AwareDateTime(allow_none=True)
    secret_hint = ma.fields.String(metadata={"description": "Last characters of the secret"})
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class SubscriptionWithSecretSchema(SubscriptionSchema):
    secret = ma.fields.String(metadata={
        "description": "Shown only when the subscription is created or its secret rotated"})


class RotateSchema(ma.Schema):
    secret = ma.fields.String(metadata={"description": "New secret; generated when omitted"})


class AttemptSchema(ma.Schema):
    number = ma.fields.Integer()
    attempted_at = ma.fields.AwareDateTime()
    status_code = ma.fields.Integer(allow_none=True)
    latency_ms = ma.fields.Integer()
    error = ma.fields.String(allow_none=True)
    succeeded = ma.fields.Boolean()


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    subscription_id = ma.fields.Integer()
    event_id = ma.fields.String()
    event_type = ma.fields.String()
    status = ma.fields.String(metadata={"description": "pending, delivered or failed"})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.AwareDateTime(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    attempt_log = ma.fields.List(ma.fields.Nested(AttemptSchema))


class DeliveryQuerySchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(["pending", "delivered", "failed"]))
    before = ma.fields.Integer(metadata={"description": "id of the last delivery of the "
                                                        "previous page (newest first)"})
    limit = ma.fields.Integer()


class DeliveryPageSchema(ma.Schema):
    deliveries = ma.fields.List(ma.fields.Nested(DeliverySchema))
    next_before = ma.fields.Integer(allow_none=True)


@blp.route("")
class Subscriptions(MethodView):
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self):
        """List webhook subscriptions."""
        return [subs.as_dict(s) for s in subs.list_subscriptions()]

    @blp.arguments(SubscriptionCreateSchema)
    @blp.response(201, SubscriptionWithSecretSchema)
    def post(self, data):
        """Create a subscription; the answer shows the signing secret, once."""
        created = subs.create_subscription(_config(), **data)
        return subs.as_dict(created, with_secret=True)


@blp.route("/<int:subscription_id>")
class Subscription(MethodView):
    @blp.response(200, SubscriptionSchema)
    def get(self, subscription_id):
        """One subscription."""
        return subs.as_dict(subs.get_subscription(subscription_id))

    @blp.arguments(SubscriptionUpdateSchema)
    @blp.response(200, SubscriptionSchema)
    def patch(self, data, subscription_id):
        """Change the URL, event types, description, or switch it on or off."""
        return subs.as_dict(subs.update_subscription(_config(), subscription_id, **data))

    @blp.response(204)
    def delete(self, subscription_id):
        """Delete a subscription with its deliveries and their log."""
        subs.delete_subscription(subscription_id)


@blp.route("/<int:subscription_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.arguments(RotateSchema)
    @blp.response(200, SubscriptionWithSecretSchema)
    def post(self, data, subscription_id):
        """Replace the signing secret; the answer shows the new one, once."""
        return subs.as_dict(subs.rotate_secret(subscription_id, data.get("secret")),
                            with_secret=True)


@blp.route("/<int:subscription_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, args, subscription_id):
        """The subscription's deliveries, newest first, with their attempt log."""
        limit = page_limit(args.get("limit"), default=50)
        rows = subs.deliveries(subscription_id, args.get("status"), args.get("before"), limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"deliveries": [subs.delivery_dict(d, with_attempts=True) for d in rows],
                "next_before": rows[-1].id if more else None}


@blp.route("/deliveries/<int:delivery_id>")
class Delivery(MethodView):
    @blp.response(200, DeliverySchema)
    def get(self, delivery_id):
        """One delivery with every attempt: number, time, status code, latency and error."""
        return subs.delivery_dict(subs.get_delivery(delivery_id), with_attempts=True)


@blp.route("/deliveries/<int:delivery_id>/redeliver")
class Redeliver(MethodView):
    @blp.response(202, DeliverySchema)
    def post(self, delivery_id):
        """Queue one more attempt now (delivered and failed deliveries too)."""
        return subs.delivery_dict(deliveries_mod.redeliver(delivery_id), with_attempts=True)
