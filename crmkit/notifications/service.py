"""``notify``: tell a user, or everyone with a role, about something; in-app and by email.

Runs in the caller's transaction: the inbox rows and the queued emails commit with the change
that caused them, or not at all. Email goes through :func:`crmkit.mail.send_email`, so it is
sent by the worker, never inside the request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from crmkit.auth.models import Role, User
from crmkit.db import utcnow
from crmkit.errors import NotFound, ValidationError
from crmkit.mail import send_email
from crmkit.notifications.models import Notification, NotificationPreference

DEFAULT_KIND = "general"
ALL_KINDS = "*"
_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
MAX_MESSAGE = 2000


@dataclass(frozen=True)
class Channels:
    in_app: bool = True
    email: bool = True


def check_kind(kind: str, allow_all: bool = False) -> str:
    if (allow_all and kind == ALL_KINDS) or (isinstance(kind, str) and len(kind) <= 100
                                             and _KIND.match(kind)):
        return kind
    raise ValidationError({"kind": "Dotted lower case words such as sales.task_due"
                                   + (" (or * for every kind)." if allow_all else ".")})


def recipients(recipient: int | User | str) -> list[User]:
    """Active users: one by id (or the User itself), or everyone with the role named."""
    if isinstance(recipient, User):
        recipient = recipient.id
    if isinstance(recipient, bool) or not isinstance(recipient, (int, str)):
        raise TypeError(f"notify() needs a user id, a User or a role name, got {recipient!r}")
    if isinstance(recipient, int):
        user = User.get_or_none(User.id == recipient)
        if user is None:
            raise NotFound(f"No user {recipient}.")
        return [user] if user.active else []
    role = Role.get_or_none(Role.name == recipient)
    if role is None:
        raise NotFound(f"No role named {recipient!r}.")
    return list(User.select().where((User.role == role.id) & User.active).order_by(User.id))


def channels_for(users: list[User], kind: str) -> dict[int, Channels]:
    """Each user's channels for ``kind``: their row for the kind, else their ``*`` row, else
    both channels on."""
    chosen: dict[int, dict[str, Channels]] = {}
    for pref in NotificationPreference.select().where(
            NotificationPreference.user.in_([u.id for u in users])
            & NotificationPreference.kind.in_([kind, ALL_KINDS])):
        chosen.setdefault(pref.user_id, {})[pref.kind] = Channels(pref.in_app, pref.email)
    return {u.id: chosen.get(u.id, {}).get(kind) or chosen.get(u.id, {}).get(ALL_KINDS)
            or Channels() for u in users}


def _email_text(message: str, link: str | None) -> str:
    text = message + (f"\n\n{link}" if link else "")
    return text + ("\n\n--\nYou can choose which notifications reach you by email in your "
                   "notification preferences.")


def notify(recipient: int | User | str, message: str, link: str | None = None,
           kind: str = DEFAULT_KIND) -> list[Notification]:
    """Notify a user (id or User) or every active user with a role (its name).

    Each user gets an inbox entry and an email, as their preferences for ``kind`` say. Returns the
    inbox entries created. Call it inside the transaction of the change it is about.
    """
    check_kind(kind)
    message = (message or "").strip()
    if not message or len(message) > MAX_MESSAGE:
        raise ValidationError({"message": f"Give a message of 1 to {MAX_MESSAGE} characters."})
    if link is not None and (len(link) > 2000 or "\n" in link):
        raise ValidationError({"link": "At most 2000 characters on one line."})
    users = recipients(recipient)
    channels = channels_for(users, kind)
    now = utcnow()
    created = []
    for user in users:
        if channels[user.id].in_app:
            created.append(Notification.create(user=user.id, kind=kind, message=message,
                                               link=link, created_at=now))
        if channels[user.id].email and user.email:
            subject = message.splitlines()[0][:150]
            send_email(to=user.email, subject=subject, text=_email_text(message, link),
                       kind=f"notification.{kind}")
    return created


# -- the inbox and preferences of one user (the API's doors) ---------------------------------------

def inbox(user_id: int, unread_only: bool = False, before: int | None = None,
          limit: int = 50) -> list[Notification]:
    query = Notification.select().where(Notification.user == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    if before:
        query = query.where(Notification.id < before)
    return list(query.order_by(Notification.id.desc()).limit(limit))


def unread_count(user_id: int) -> int:
    return Notification.select().where((Notification.user == user_id)
                                       & Notification.read_at.is_null()).count()


def mark_read(user_id: int, notification_id: int) -> Notification:
    item = Notification.get_or_none((Notification.id == notification_id)
                                    & (Notification.user == user_id))
    if item is None:  # someone else's looks the same as a missing one
        raise NotFound(f"No notification {notification_id}.")
    if item.read_at is None:
        item.read_at = utcnow()
        Notification.update(read_at=item.read_at).where(
            (Notification.id == item.id) & Notification.read_at.is_null()).execute()
    return item


def mark_all_read(user_id: int) -> int:
    return Notification.update(read_at=utcnow()).where(
        (Notification.user == user_id) & Notification.read_at.is_null()).execute()


def preferences(user_id: int) -> list[NotificationPreference]:
    return list(NotificationPreference.select().where(NotificationPreference.user == user_id)
                .order_by(NotificationPreference.kind))


def set_preference(user_id: int, kind: str, in_app: bool, email: bool) -> NotificationPreference:
    check_kind(kind, allow_all=True)
    now = utcnow()
    (NotificationPreference
     .insert(user=user_id, kind=kind, in_app=in_app, email=email, updated_at=now)
     .on_conflict(conflict_target=[NotificationPreference.user, NotificationPreference.kind],
                  update={NotificationPreference.in_app: in_app,
                          NotificationPreference.email: email,
                          NotificationPreference.updated_at: now})
     .execute())
    return NotificationPreference.get((NotificationPreference.user == user_id)
                                      & (NotificationPreference.kind == kind))


def clear_preference(user_id: int, kind: str) -> None:
    check_kind(kind, allow_all=True)
    deleted = NotificationPreference.delete().where(
        (NotificationPreference.user == user_id) & (NotificationPreference.kind == kind)).execute()
    if not deleted:
        raise NotFound(f"No preference for {kind!r}.")
