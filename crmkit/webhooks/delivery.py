"""Delivering webhooks: signed POSTs, the attempt log, backoff, auto-disable and redelivery.

The worker claims due deliveries (see :mod:`crmkit.worker.leases`), POSTs each one and records
the outcomes of a batch in one transaction. The body is the event envelope, byte for byte the same
on every attempt; the timestamp and signature are made fresh for each attempt.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from peewee import fn

from crmkit.db import utcnow, write_transaction
from crmkit.errors import Conflict, NotFound
from crmkit.events.feed import envelope
from crmkit.events.models import Event
from crmkit.events.outbox import dumps
from crmkit.webhooks import signing
from crmkit.webhooks.http import Outcome, Session
from crmkit.webhooks.models import (DELIVERED, FAILED, PENDING, WebhookAttempt, WebhookDelivery,
                                    WebhookSubscription)
from crmkit.webhooks.targets import TargetRefused, checked_address, parse
from crmkit.worker import leases
from crmkit.worker.settings import setting

USER_AGENT = "crmkit-webhooks/1"


def body_of(event: Event) -> bytes:
    return dumps(envelope(event)).encode()


def retry_delay(attempts: int, config: Mapping[str, object]) -> dt.timedelta:
    """Exponential backoff: base, 2 x base, 4 x base ... capped; +-10% so retries spread out."""
    base = setting(config, "WEBHOOKS_RETRY_BASE_SECONDS")
    seconds = min(base * 2 ** max(attempts - 1, 0), setting(config, "WEBHOOKS_RETRY_MAX_SECONDS"))
    return dt.timedelta(seconds=seconds * random.uniform(0.9, 1.1))


def lease_seconds(config: Mapping[str, object]) -> float:
    """Long enough for a whole batch to time out one request after another, and then some."""
    return (setting(config, "WEBHOOKS_TIMEOUT_SECONDS") * setting(config, "WEBHOOKS_BATCH_SIZE")
            + 60)


def claim_due(config: Mapping[str, object], limit: int) -> tuple[str, list[int]]:
    active = WebhookSubscription.select(WebhookSubscription.id).where(WebhookSubscription.active)
    return leases.claim(WebhookDelivery, limit, lease_seconds(config),
                        where=WebhookDelivery.subscription.in_(active))


def group_by_subscription(ids: list[int], size: int) -> list[list[int]]:
    """Batches of one subscription each, so a slow receiver only slows its own deliveries."""
    owners = defaultdict(list)
    for row_id, sub_id in (WebhookDelivery.select(WebhookDelivery.id, WebhookDelivery.subscription)
                           .where(WebhookDelivery.id.in_(ids)).tuples()):
        owners[sub_id].append(row_id)
    return [rows[i:i + size] for rows in owners.values() for i in range(0, len(rows), size)]


@dataclass
class _Result:
    delivery: WebhookDelivery
    number: int
    at: dt.datetime
    outcome: Outcome


def deliver_batch(ids: list[int], token: str, config: Mapping[str, object]) -> int:
    """POST the claimed deliveries still held with ``token``; returns how many succeeded."""
    ids = leases.extend(WebhookDelivery, ids, token, lease_seconds(config))
    if not ids:
        return 0
    rows = list(WebhookDelivery
                .select(WebhookDelivery, Event, WebhookSubscription)
                .join(Event).switch(WebhookDelivery).join(WebhookSubscription)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.id))
    session = Session(setting(config, "WEBHOOKS_TIMEOUT_SECONDS"))
    results = []
    try:
        for delivery in rows:
            results.append(_attempt(session, delivery, config))
    finally:
        session.close()
    record(results, token, config)
    return sum(1 for r in results if r.outcome.ok)


def _attempt(session: Session, delivery: WebhookDelivery, config) -> _Result:
    number, at = delivery.attempts + 1, utcnow()
    subscription, event = delivery.subscription, delivery.event
    try:
        target = parse(subscription.url)
        address = checked_address(target, config)
    except TargetRefused as exc:
        return _Result(delivery, number, at, Outcome(None, f"refused: {exc}", 0))
    body = body_of(event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_ID_HEADER: str(event.uuid),
        signing.EVENT_TYPE_HEADER: event.type,
        signing.DELIVERY_ID_HEADER: str(delivery.id),
        signing.ATTEMPT_HEADER: str(number),
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.signature(subscription.secret, timestamp, body),
    }
    return _Result(delivery, number, at, session.post(target, str(address), body, headers))


def record(results: list[_Result], token: str, config: Mapping[str, object]) -> None:
    """Write the attempt log and the deliveries' new state, and track each subscription's run of
    failures, in one transaction. Rows whose lease was taken over are left to their new holder."""
    if not results:
        return
    max_attempts = setting(config, "WEBHOOKS_MAX_ATTEMPTS")
    now = utcnow()
    with write_transaction():
        mine = {row.id for row in WebhookDelivery.select(WebhookDelivery.id).where(
            WebhookDelivery.id.in_([r.delivery.id for r in results])
            & (WebhookDelivery.lease == token))}
        results = [r for r in results if r.delivery.id in mine]
        if not results:
            return
        WebhookAttempt.insert_many([
            {"delivery": r.delivery.id, "number": r.number, "attempted_at": r.at,
             "status_code": r.outcome.status_code, "latency_ms": r.outcome.latency_ms,
             "error": r.outcome.error, "succeeded": r.outcome.ok} for r in results]).execute()
        done = defaultdict(list)
        for r in results:
            if r.outcome.ok:
                done[r.outcome.status_code].append(r.delivery.id)
                continue
            gave_up = r.number >= max_attempts
            (WebhookDelivery
             .update(status=FAILED if gave_up else PENDING, attempts=r.number,
                     next_attempt_at=now if gave_up else now + retry_delay(r.number, config),
                     lease=None, locked_until=None, last_status_code=r.outcome.status_code,
                     last_error=r.outcome.error)
             .where(leases.held(WebhookDelivery, r.delivery.id, token))
             .execute())
        for code, delivered in done.items():
            (WebhookDelivery
             .update(status=DELIVERED, attempts=WebhookDelivery.attempts + 1, delivered_at=now,
                     lease=None, locked_until=None, last_status_code=code, last_error=None)
             .where(WebhookDelivery.id.in_(delivered) & (WebhookDelivery.lease == token))
             .execute())
        by_subscription = defaultdict(list)
        for r in results:
            by_subscription[r.delivery.subscription_id].append(r)
        for sub_id, sub_results in by_subscription.items():
            _track_failures(sub_id, sub_results, config, now)


def _track_failures(sub_id: int, results: list[_Result], config, now: dt.datetime) -> None:
    successes = [i for i, r in enumerate(results) if r.outcome.ok]
    Sub = WebhookSubscription
    if successes:
        trailing = results[successes[-1] + 1:]
        Sub.update(consecutive_failures=len(trailing),
                   failing_since=trailing[0].at if trailing else None).where(
            Sub.id == sub_id).execute()
    else:
        # Counted in SQL: two workers failing at once must both add to the run.
        Sub.update(consecutive_failures=Sub.consecutive_failures + len(results),
                   failing_since=fn.COALESCE(Sub.failing_since,
                                             Sub.failing_since.db_value(results[0].at))).where(
            Sub.id == sub_id).execute()
    threshold = setting(config, "WEBHOOKS_DISABLE_AFTER_FAILURES")
    cutoff = now - dt.timedelta(hours=setting(config, "WEBHOOKS_DISABLE_AFTER_HOURS"))
    (Sub.update(active=False, disabled_at=now, updated_at=now,
                disabled_reason=f"disabled automatically after {threshold} or more failed "
                                f"attempts in a row")
     .where((Sub.id == sub_id) & Sub.active & (Sub.consecutive_failures >= threshold)
            & (Sub.failing_since <= cutoff))
     .execute())


def redeliver(delivery_id: int) -> WebhookDelivery:
    """Queue one more attempt now, whatever the delivery's state (delivered ones too)."""
    delivery = WebhookDelivery.get_or_none(WebhookDelivery.id == delivery_id)
    if delivery is None:
        raise NotFound(f"No webhook delivery {delivery_id}.")
    if not delivery.subscription.active:
        raise Conflict("The subscription is disabled; enable it before redelivering.")
    now = utcnow()
    claimed = (delivery.status == PENDING and delivery.locked_until is not None
               and delivery.locked_until > now)
    if claimed:
        raise Conflict("An attempt of this delivery is in progress; try again shortly.")
    (WebhookDelivery
     .update(status=PENDING, next_attempt_at=now, lease=None, locked_until=None)
     .where(WebhookDelivery.id == delivery_id)
     .execute())
    return WebhookDelivery.get_by_id(delivery_id)
