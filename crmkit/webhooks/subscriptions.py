"""Webhook subscriptions: create, change, enable, rotate the secret, delete, and read the log.

Both doors (``/api/v1/webhooks`` and ``crmkit webhooks``) call these functions.
"""
from __future__ import annotations

from collections.abc import Mapping

from crmkit.db import utcnow
from crmkit.errors import NotFound, ValidationError
from crmkit.events.feed import check_type_patterns
from crmkit.webhooks.models import (WebhookAttempt, WebhookDelivery, WebhookSubscription,
                                    WebhookSubscriptionType)
from crmkit.webhooks.signing import new_secret
from crmkit.webhooks.targets import TargetRefused, check_url

MIN_SECRET_LENGTH = 16


def _check_url(url: str, config: Mapping[str, object]) -> str:
    url = (url or "").strip()
    try:
        check_url(url, config)
    except TargetRefused as exc:
        raise ValidationError({"url": f"The URL {exc}."}) from None
    return url


def _check_types(event_types: list[str]) -> list[str]:
    types = sorted({t.strip() for t in event_types or [] if t and t.strip()})
    if not types:
        raise ValidationError({"event_types": "Give at least one event type, prefix.* or *."})
    check_type_patterns(types, field="event_types")
    return types


def _check_secret(secret: str | None) -> str:
    if secret is None:
        return new_secret()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError({"secret": f"Must be at least {MIN_SECRET_LENGTH} characters."})
    return secret


def _store_types(subscription: WebhookSubscription, types: list[str]) -> None:
    WebhookSubscriptionType.delete().where(
        WebhookSubscriptionType.subscription == subscription.id).execute()
    WebhookSubscriptionType.insert_many([
        {"subscription": subscription.id, "pattern": t,
         "prefix": None if not t.endswith("*") else t[:-1]} for t in types]).execute()


def event_types(subscription: WebhookSubscription) -> list[str]:
    return sorted(row.pattern for row in WebhookSubscriptionType.select().where(
        WebhookSubscriptionType.subscription == subscription.id))


def get_subscription(subscription_id: int) -> WebhookSubscription:
    subscription = WebhookSubscription.get_or_none(WebhookSubscription.id == subscription_id)
    if subscription is None:
        raise NotFound(f"No webhook subscription {subscription_id}.")
    return subscription


def list_subscriptions() -> list[WebhookSubscription]:
    return list(WebhookSubscription.select().order_by(WebhookSubscription.id))


def create_subscription(config: Mapping[str, object], url: str, event_types: list[str],
                        description: str = "", secret: str | None = None,
                        active: bool = True) -> WebhookSubscription:
    """Save a subscription; the secret is generated unless given. Only events that happen after
    this moment are delivered to it."""
    checked_url = _check_url(url, config)
    types = _check_types(event_types)
    now = utcnow()
    subscription = WebhookSubscription.create(
        url=checked_url, description=description or "",
        secret=_check_secret(secret), active=active, created_at=now, updated_at=now,
        disabled_reason=None if active else "manual", disabled_at=None if active else now)
    _store_types(subscription, types)
    return subscription


def update_subscription(config: Mapping[str, object], subscription_id: int,
                        **changes) -> WebhookSubscription:
    """Change ``url``, ``event_types``, ``description`` or ``active``. Enabling again clears the
    run of failures, so an automatically disabled subscription starts afresh."""
    subscription = get_subscription(subscription_id)
    now = utcnow()
    if "url" in changes:
        subscription.url = _check_url(changes["url"], config)
    if "description" in changes:
        subscription.description = changes["description"] or ""
    if "event_types" in changes:
        _store_types(subscription, _check_types(changes["event_types"]))
    if "active" in changes and bool(changes["active"]) != subscription.active:
        subscription.active = bool(changes["active"])
        if subscription.active:
            subscription.disabled_reason = subscription.disabled_at = None
            subscription.consecutive_failures, subscription.failing_since = 0, None
        else:
            subscription.disabled_reason, subscription.disabled_at = "manual", now
    subscription.updated_at = now
    subscription.save()
    return subscription


def rotate_secret(subscription_id: int, secret: str | None = None) -> WebhookSubscription:
    subscription = get_subscription(subscription_id)
    subscription.secret = _check_secret(secret)
    subscription.updated_at = utcnow()
    subscription.save()
    return subscription


def delete_subscription(subscription_id: int) -> None:
    """Delete a subscription with its deliveries and their log."""
    get_subscription(subscription_id).delete_instance()


def as_dict(subscription: WebhookSubscription, with_secret: bool = False) -> dict:
    data = {
        "id": subscription.id,
        "url": subscription.url,
        "description": subscription.description,
        "event_types": event_types(subscription),
        "active": subscription.active,
        "disabled_reason": subscription.disabled_reason,
        "disabled_at": subscription.disabled_at,
        "consecutive_failures": subscription.consecutive_failures,
        "failing_since": subscription.failing_since,
        "secret_hint": "..." + subscription.secret[-4:],
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }
    if with_secret:
        data["secret"] = subscription.secret
    return data


def deliveries(subscription_id: int, status: str | None = None, before: int | None = None,
               limit: int = 50) -> list[WebhookDelivery]:
    """Newest first; ``before`` is the id of the last delivery of the previous page."""
    get_subscription(subscription_id)
    query = WebhookDelivery.select().where(WebhookDelivery.subscription == subscription_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if before:
        query = query.where(WebhookDelivery.id < before)
    return list(query.order_by(WebhookDelivery.id.desc()).limit(limit))


def get_delivery(delivery_id: int) -> WebhookDelivery:
    delivery = WebhookDelivery.get_or_none(WebhookDelivery.id == delivery_id)
    if delivery is None:
        raise NotFound(f"No webhook delivery {delivery_id}.")
    return delivery


def delivery_dict(delivery: WebhookDelivery, with_attempts: bool = False) -> dict:
    event = delivery.event
    data = {
        "id": delivery.id,
        "subscription_id": delivery.subscription_id,
        "event_id": str(event.uuid),
        "event_type": event.type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
        "created_at": delivery.created_at,
    }
    if with_attempts:
        data["attempt_log"] = [
            {"number": a.number, "attempted_at": a.attempted_at, "status_code": a.status_code,
             "latency_ms": a.latency_ms, "error": a.error, "succeeded": a.succeeded}
            for a in WebhookAttempt.select().where(WebhookAttempt.delivery == delivery.id)
            .order_by(WebhookAttempt.number, WebhookAttempt.id)]
    return data
