"""Marketing consent per channel, kept in the kernel so every plugin honours the same answer.

A plugin that sends (campaigns, SMS reminders) asks :func:`has_consent` for one person or filters
its audience with :func:`consenting_customer_ids` in SQL. No record means no consent.
"""
from __future__ import annotations

import datetime as dt
import re

import peewee

from crmkit import audit
from crmkit.db import utcnow
from crmkit.errors import ValidationError
from crmkit.privacy.models import Consent

CHANNELS = ("email", "sms", "phone", "post", "push", "whatsapp")
_CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,29}$")


def check_channel(channel: str) -> str:
    channel = (channel or "").strip().lower()
    if not _CHANNEL.match(channel):
        raise ValidationError({"channel": "Use a short lower-case name such as email or sms."})
    return channel


def _latest(customer_id: int | None = None, channel: str | None = None) -> peewee.ModelSelect:
    """The newest row per (customer, channel)."""
    newer = Consent.alias()
    query = (Consent.select()
             .join(newer, peewee.JOIN.LEFT_OUTER, on=(
                 (newer.customer_id == Consent.customer_id) & (newer.channel == Consent.channel)
                 & ((newer.at > Consent.at) | ((newer.at == Consent.at) & (newer.id > Consent.id)))))
             .where(newer.id.is_null()))
    if customer_id is not None:
        query = query.where(Consent.customer_id == customer_id)
    if channel is not None:
        query = query.where(Consent.channel == channel)
    return query


def record_consent(customer_id: int, channel: str, granted: bool, source: str,
                   at: dt.datetime | None = None) -> Consent:
    """Record a grant or a withdrawal; audited."""
    channel = check_channel(channel)
    source = (source or "").strip()
    if not source or len(source) > 100:
        raise ValidationError({"source": "Say where the decision came from (1-100 characters)."})
    at = at or utcnow()
    if at > utcnow() + dt.timedelta(minutes=5):
        raise ValidationError({"at": "Cannot be in the future."})
    previous = current_consents(customer_id).get(channel)
    actor = audit.trail.actor_label()
    row = Consent.create(customer_id=customer_id, channel=channel, granted=granted, at=at,
                         source=source, recorded_by=actor)
    audit.record("consent.grant" if granted else "consent.withdraw", "customer", customer_id,
                 changes={f"consent.{channel}": [previous["granted"] if previous else None,
                                                 granted]},
                 detail={"source": source, "at": at})
    return row


def current_consents(customer_id: int) -> dict[str, dict]:
    """``{channel: {"granted", "at", "source"}}`` as things stand."""
    return {row.channel: {"granted": row.granted, "at": row.at, "source": row.source}
            for row in _latest(customer_id).order_by(Consent.channel)}


def consent_history(customer_id: int) -> list[Consent]:
    return list(Consent.select().where(Consent.customer_id == customer_id)
                .order_by(Consent.at, Consent.id))


def has_consent(customer_id: int, channel: str) -> bool:
    row = _latest(customer_id, check_channel(channel)).first()
    return bool(row and row.granted)


def consenting_customer_ids(channel: str) -> peewee.ModelSelect:
    """A subquery of the ids of customers who currently consent on ``channel``:
    ``Customer.select().where(Customer.id.in_(consenting_customer_ids("email")))``."""
    return (_latest(channel=check_channel(channel)).select(Consent.customer_id)
            .where(Consent.granted == True))  # noqa: E712


def withdraw_all(customer_id: int, source: str) -> list[str]:
    """Withdraw every channel the person has granted (erasure, a "forget me" request)."""
    channels = [c for c, state in current_consents(customer_id).items() if state["granted"]]
    for channel in channels:
        record_consent(customer_id, channel, False, source)
    return channels
