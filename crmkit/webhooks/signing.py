"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>`` with the subscription's secret.

The receiver recomputes the signature and rejects stale timestamps (docs/webhooks.md has the
snippet). Signing the timestamp with the body stops an old request being replayed later.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Crmkit-Signature"
TIMESTAMP_HEADER = "Crmkit-Timestamp"
EVENT_ID_HEADER = "Crmkit-Event-Id"
EVENT_TYPE_HEADER = "Crmkit-Event-Type"
DELIVERY_ID_HEADER = "Crmkit-Delivery-Id"
ATTEMPT_HEADER = "Crmkit-Delivery-Attempt"
SCHEME = "v1"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={digest.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, header: str, now: float,
           tolerance_seconds: int = 300) -> bool:
    """What a receiver does; kept here so the kernel's own tests check the documented rule."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent_at) > tolerance_seconds:
        return False
    expected = signature(secret, sent_at, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))
