"""Outbound email: one kernel service used by notifications and by plugins (marketing).

``send_email(...)`` queues a message in the caller's transaction; ``crmkit worker`` sends it over
SMTP (``CRMKIT_SMTP_*``). See docs/email.md.
"""
from crmkit.mail.models import EmailMessage
from crmkit.mail.service import send_email

__all__ = ["EmailMessage", "send_email"]
