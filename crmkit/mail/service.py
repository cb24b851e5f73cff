"""``send_email``: queue an outbound message in the caller's transaction.

Nothing is sent while the caller runs: the worker sends committed messages over SMTP (see
:mod:`crmkit.mail.sending`). A rolled-back transaction takes its messages with it.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from crmkit.db import utcnow
from crmkit.errors import ValidationError
from crmkit.mail.compose import check_address, check_headers, new_message_id
from crmkit.mail.models import EmailMessage

MAX_RECIPIENTS = 100


def _addresses(values: str | Sequence[str] | None, field: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [check_address(v, field) for v in values]


def send_email(to: str | Sequence[str], subject: str, *, text: str | None = None,
               html: str | None = None, from_address: str | None = None,
               reply_to: str | None = None, cc: Sequence[str] = (), bcc: Sequence[str] = (),
               headers: Mapping[str, str] | None = None, kind: str | None = None) -> EmailMessage:
    """Queue a message; returns its row (``message_id`` is final).

    Give ``text``, ``html`` or both (both: a multipart/alternative message). ``headers`` adds
    per-message headers such as ``List-Unsubscribe`` (the service owns From, To, Subject,
    Message-ID, Date and the MIME headers). ``from_address``/``reply_to`` default to
    ``CRMKIT_SMTP_FROM``/``CRMKIT_SMTP_REPLY_TO`` when the message is sent. ``kind`` labels the
    message for the log (``notification``, ``marketing.campaign``).
    """
    recipients = _addresses(to, "to")
    copies, blind = _addresses(list(cc), "cc"), _addresses(list(bcc), "bcc")
    if not recipients:
        raise ValidationError({"to": "Give at least one recipient."})
    if len(recipients) + len(copies) + len(blind) > MAX_RECIPIENTS:
        raise ValidationError({"to": f"At most {MAX_RECIPIENTS} recipients per message."})
    if text is None and html is None:
        raise ValidationError({"text": "Give a text part, an HTML part or both."})
    if not subject or "\n" in subject or "\r" in subject or len(subject) > 998:
        raise ValidationError({"subject": "Give a one-line subject of at most 998 characters."})
    sender = check_address(from_address, "from_address") if from_address else None
    answer_to = check_address(reply_to, "reply_to") if reply_to else None
    now = utcnow()
    return EmailMessage.create(
        message_id=new_message_id(sender or "crmkit@crmkit.invalid"), kind=kind,
        from_address=sender, reply_to=answer_to, to=json.dumps(recipients), cc=json.dumps(copies),
        bcc=json.dumps(blind), subject=subject, text_body=text, html_body=html,
        headers=json.dumps(check_headers(dict(headers or {}))), next_attempt_at=now,
        created_at=now)
