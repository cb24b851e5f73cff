"""Turning a queued row into a MIME message: text and HTML parts, extra headers."""
from __future__ import annotations

import email.policy
import email.utils
import json
import re
from email.message import EmailMessage as MimeMessage

from crmkit.errors import ValidationError
from crmkit.mail.models import EmailMessage

# Headers the service writes itself; a caller may not set them through ``headers``.
RESERVED = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "reply-to",
            "mime-version", "content-type", "content-transfer-encoding"}
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,76}$")


def check_address(value: str, field: str) -> str:
    """A single address, optionally with a display name: ``Ada <ada@example.com>``."""
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        raise ValidationError({field: f"Not an email address: {value!r}."})
    name, address = email.utils.parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or not domain or " " in address or "." not in domain.strip("."):
        raise ValidationError({field: f"Not an email address: {value!r}."})
    return email.utils.formataddr((name, address)) if name else address


def check_headers(headers: dict[str, str] | None) -> dict[str, str]:
    out = {}
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.match(str(name)) or name.lower() in RESERVED:
            raise ValidationError({"headers": f"Header {name!r} cannot be set here."})
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise ValidationError({"headers": f"Header {name!r} must be one line of text."})
        out[name] = value
    return out


def new_message_id(from_address: str) -> str:
    domain = email.utils.parseaddr(from_address)[1].rpartition("@")[2] or "crmkit.invalid"
    return email.utils.make_msgid(domain=domain)


def bare_addresses(values: list[str]) -> list[str]:
    return [email.utils.parseaddr(v)[1] for v in values]


def to_mime(row: EmailMessage, default_from: str, default_reply_to: str) -> MimeMessage:
    message = MimeMessage(policy=email.policy.SMTP)
    message["From"] = row.from_address or default_from
    message["To"] = ", ".join(json.loads(row.to))
    cc = json.loads(row.cc)
    if cc:
        message["Cc"] = ", ".join(cc)
    reply_to = row.reply_to or default_reply_to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = row.subject
    message["Date"] = email.utils.format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    for name, value in json.loads(row.headers).items():
        message[name] = value
    if row.text_body is not None:
        message.set_content(row.text_body)
        if row.html_body is not None:
            message.add_alternative(row.html_body, subtype="html")
    else:
        message.set_content(row.html_body or "", subtype="html")
    return message
