"""Sending queued email over SMTP from the worker.

Settings: ``CRMKIT_SMTP_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_TLS`` (``none``,
``starttls`` or ``ssl``), ``_FROM``, ``_REPLY_TO``. Each message is recorded as soon as the server
has answered for it, so a crash re-sends at most the one message in flight. A 5xx answer is final
(the message is marked failed); a 4xx answer or a connection problem is retried with backoff.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import ssl
from collections.abc import Mapping

from crmkit.db import utcnow, write_transaction
from crmkit.mail.compose import bare_addresses, to_mime
from crmkit.mail.models import FAILED, PENDING, SENT, EmailMessage
from crmkit.worker import leases
from crmkit.worker.settings import setting

log = logging.getLogger("crmkit.mail")
TLS_MODES = ("none", "starttls", "ssl")


class SmtpSettingsError(ValueError):
    pass


def smtp_settings(config: Mapping[str, object]) -> dict:
    mode = str(setting(config, "SMTP_TLS")).lower()
    if mode not in TLS_MODES:
        raise SmtpSettingsError(f"CRMKIT_SMTP_TLS must be one of {', '.join(TLS_MODES)}, "
                                f"got {mode!r}")
    port = setting(config, "SMTP_PORT") or {"ssl": 465, "starttls": 587}.get(mode, 25)
    return {"host": setting(config, "SMTP_HOST"), "port": port, "tls": mode,
            "user": setting(config, "SMTP_USER"), "password": setting(config, "SMTP_PASSWORD"),
            "from": setting(config, "SMTP_FROM"), "reply_to": setting(config, "SMTP_REPLY_TO"),
            "timeout": setting(config, "SMTP_TIMEOUT_SECONDS"),
            "ca_file": setting(config, "SMTP_CA_FILE") or None}


def connect(settings: dict) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=settings["ca_file"])
    if settings["tls"] == "ssl":
        smtp = smtplib.SMTP_SSL(settings["host"], settings["port"], timeout=settings["timeout"],
                                context=context)
    else:
        smtp = smtplib.SMTP(settings["host"], settings["port"], timeout=settings["timeout"])
        if settings["tls"] == "starttls":
            smtp.starttls(context=context)
    if settings["user"]:
        smtp.login(settings["user"], settings["password"])
    return smtp


def claim_due(config: Mapping[str, object], limit: int) -> tuple[str | None, list[int]]:
    if not setting(config, "SMTP_HOST"):
        return None, []  # nowhere to send yet: messages wait until a server is configured
    return leases.claim(EmailMessage, limit, lease_seconds(config))


def lease_seconds(config: Mapping[str, object]) -> float:
    return setting(config, "SMTP_TIMEOUT_SECONDS") * 25 + 60


def retry_delay(attempts: int, config: Mapping[str, object]) -> dt.timedelta:
    return dt.timedelta(seconds=setting(config, "SMTP_RETRY_BASE_SECONDS") * 2 ** (attempts - 1))


def send_batch(ids: list[int], token: str, config: Mapping[str, object]) -> int:
    """Send the claimed messages still held with ``token`` over one connection; returns how many
    were accepted by the server."""
    ids = leases.extend(EmailMessage, ids, token, lease_seconds(config))
    if not ids:
        return 0
    settings = smtp_settings(config)
    rows = list(EmailMessage.select().where(EmailMessage.id.in_(ids)).order_by(EmailMessage.id))
    try:
        smtp = connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        for row in rows:
            _record(row, token, config, error=f"connecting to {settings['host']}: {_say(exc)}",
                    final=_permanent(exc))
        return 0
    sent = 0
    try:
        for row in rows:
            message = to_mime(row, settings["from"], settings["reply_to"])
            envelope_from = bare_addresses([row.from_address or settings["from"]])[0]
            recipients = bare_addresses(json.loads(row.to) + json.loads(row.cc)
                                        + json.loads(row.bcc))
            try:
                refused = smtp.send_message(message, from_addr=envelope_from,
                                            to_addrs=recipients)
            except smtplib.SMTPServerDisconnected as exc:
                _record(row, token, config, error=_say(exc), final=False)
                break  # the rest keep their claim and are retried when it runs out
            except (OSError, smtplib.SMTPException) as exc:
                _record(row, token, config, error=_say(exc), final=_permanent(exc))
                continue
            note = f"refused by the server: {', '.join(sorted(refused))}" if refused else None
            _record(row, token, config, error=note, sent=True)
            sent += 1
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return sent


def _permanent(exc: Exception) -> bool:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        return bool(codes) and all(c >= 500 for c in codes)
    return isinstance(code, int) and code >= 500


def _say(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def _record(row: EmailMessage, token: str, config, *, error: str | None = None,
            sent: bool = False, final: bool = False) -> None:
    attempts = row.attempts + 1
    now = utcnow()
    if sent:
        changes = {"status": SENT, "sent_at": now, "last_error": error}
    elif final or attempts >= setting(config, "SMTP_MAX_ATTEMPTS"):
        changes = {"status": FAILED, "last_error": error}
        log.warning("email %s failed for good: %s", row.message_id, error)
    else:
        changes = {"status": PENDING, "last_error": error,
                   "next_attempt_at": now + retry_delay(attempts, config)}
    with write_transaction():
        EmailMessage.update(attempts=attempts, lease=None, locked_until=None, **changes).where(
            leases.held(EmailMessage, row.id, token)).execute()
