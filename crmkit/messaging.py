"""What the kernel registers for everything that leaves the request: the event outbox, jobs,
webhooks, email and notifications. ``crmkit.core`` calls these so its own list stays short."""
from __future__ import annotations

from crmkit.permissions import Permission


def models() -> list[type]:
    from crmkit.events.models import Event, EventConsumer
    from crmkit.mail.models import EmailMessage
    from crmkit.notifications.models import Notification, NotificationPreference
    from crmkit.webhooks.models import (WebhookAttempt, WebhookDelivery, WebhookSubscription,
                                        WebhookSubscriptionType)
    from crmkit.worker.models import Job
    return [Event, EventConsumer, Job, WebhookSubscription, WebhookSubscriptionType,
            WebhookDelivery, WebhookAttempt, EmailMessage, Notification, NotificationPreference]


def blueprints() -> list:
    from crmkit.events.api import blp as events_blp
    from crmkit.notifications.api import blp as notifications_blp
    from crmkit.webhooks.api import blp as webhooks_blp
    return [events_blp, webhooks_blp, notifications_blp]


def permissions() -> list[Permission]:
    return [
        Permission("events:read", "Read the domain event feed"),
        Permission("webhooks:read", "See webhook subscriptions and their delivery log"),
        Permission("webhooks:manage", "Create, change, delete and redeliver webhooks"),
    ]
