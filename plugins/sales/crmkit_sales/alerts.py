"""Telling people things: stage automations, overdue tasks.

Every alert is a ``sales.notification`` event in the outbox (webhooks and the event feed see it),
and, when the kernel has notifications (``crmkit.notifications.notify``), a notification for each
user or role named.
"""
from __future__ import annotations

from collections.abc import Iterable

from crmkit.events import emit


def _kernel_notify():
    try:
        from crmkit.notifications import notify
    except ImportError:  # the kernel predates notifications: the event is the alert
        return None
    return notify


def send(message: str, *, users: Iterable[int] = (), roles: Iterable[str] = (),
         link: str | None = None, reason: str, subject: str | None = None,
         subject_id=None) -> None:
    users = sorted({u for u in users if u is not None})
    roles = sorted(set(roles))
    if not users and not roles:
        return
    emit("sales.notification", {"message": message, "link": link, "users": users, "roles": roles,
                                "reason": reason},
         subject=subject, subject_id=subject_id)
    notify = _kernel_notify()
    if notify is None:
        return
    from crmkit.auth.models import User
    for user in User.select().where(User.id.in_(users)):
        notify(user, message, link)
    for role in roles:
        notify(role, message, link)
