"""Claiming due rows of a work table (jobs, webhook deliveries, emails) with a lease.

A work table has ``id``, ``status``, ``next_attempt_at``, ``lease`` and ``locked_until``. Claiming
writes a fresh lease token and a deadline in one conditional UPDATE, so two workers never hold the
same row; the outcome is recorded only by the holder of the current token. A holder that dies
simply lets the deadline pass, after which the row is due again and another worker claims it.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from crmkit.db import is_sqlite, utcnow, write_transaction

PENDING = "pending"


def new_token() -> str:
    return uuid.uuid4().hex


def due(model, now: dt.datetime):
    return ((model.status == PENDING) & (model.next_attempt_at <= now)
            & (model.locked_until.is_null() | (model.locked_until < now)))


def claim(model, limit: int, lease_seconds: float, where=None) -> tuple[str, list[int]]:
    """Claim up to ``limit`` due rows, oldest first; returns the lease token and the row ids."""
    token, now = new_token(), utcnow()
    condition = due(model, now) if where is None else (due(model, now) & where)
    candidates = (model.select(model.id).where(condition)
                  .order_by(model.next_attempt_at, model.id).limit(limit))
    if not is_sqlite():
        # Concurrent claimers skip each other's rows instead of queueing behind their locks.
        candidates = candidates.for_update("FOR UPDATE SKIP LOCKED")
    query = (model.update(lease=token, locked_until=now + dt.timedelta(seconds=lease_seconds))
             .where(model.id.in_(candidates)).returning(model.id))
    with write_transaction():
        ids = sorted(row.id for row in query.execute())
    return token, ids


def extend(model, ids: Iterable[int], token: str, lease_seconds: float) -> list[int]:
    """Push the deadline of rows still held with ``token``; returns those ids.

    A run calls it as it starts: rows re-claimed by someone else meanwhile are left alone.
    """
    ids = list(ids)
    if not ids:
        return []
    deadline = utcnow() + dt.timedelta(seconds=lease_seconds)
    query = (model.update(locked_until=deadline)
             .where(model.id.in_(ids) & (model.lease == token) & (model.status == PENDING))
             .returning(model.id))
    with write_transaction():
        return sorted(row.id for row in query.execute())


def held(model, row_id: int, token: str):
    """The condition "this row is still ours", for the UPDATE that records an outcome."""
    return (model.id == row_id) & (model.lease == token)
