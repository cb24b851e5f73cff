"""Notifications: ``notify(user or role, message, link, kind)`` from any plugin.

An in-app inbox (``GET /api/v1/notifications``) and email through the email service, per the
user's channel choices for each kind. See docs/notifications.md.
"""
from crmkit.notifications.service import notify

__all__ = ["notify"]
