"""Telling people things: stage automations, overdue tasks.

Every alert is a ``sales.notification`` event in the outbox (webhooks and the event feed see it)
and a kernel notification (``crmkit.notifications.notify``: the user's inbox and, as they choose,
email) for each user and each role named. The notification kind is ``sales.<reason>``
(``sales.task_overdue``), so people can choose per kind how they hear about it.
"""
from __future__ import annotations

from collections.abc import Iterable

from crmkit.errors import NotFound
from crmkit.events import emit


def _kernel_notify():
    try:
        from crmkit.notifications import notify
    except ImportError:  # a kernel without notifications: the event is the alert
        return None
    return notify


def send(message: str, *, users: Iterable[int] = (), roles: Iterable[str] = (),
         link: str | None = None, reason: str, subject: str | None = None,
         subject_id=None) -> None:
    users = sorted({u for u in users if u is not None})
    roles = sorted(set(roles))
    if not users and not roles:
        return
    message = message[:2000]
    emit("sales.notification", {"message": message, "link": link, "users": users, "roles": roles,
                                "reason": reason},
         subject=subject, subject_id=subject_id)
    notify = _kernel_notify()
    if notify is None:
        return
    kind = f"sales.{reason}"
    for recipient in [*users, *roles]:
        try:
            notify(recipient, message, link, kind=kind)
        except NotFound:
            # A user or role that no longer exists must not block a deal's move.
            continue
