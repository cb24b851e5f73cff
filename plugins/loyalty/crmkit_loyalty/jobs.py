"""Periodic jobs: write off lapsed points and vouchers, evaluate tiers when their schedule says.

The worker runs periodic jobs outside any transaction; each job opens its own, in small batches
so a night's expiry never holds the database for long. Running a job twice does what running it
once does: expired lots have nothing left, an evaluated programme is not due again.
"""
from __future__ import annotations

import datetime as dt
import logging

from crmkit.db import utcnow, write_transaction
from crmkit_loyalty import ledger
from crmkit_loyalty.models import Programme
from crmkit_loyalty.rewards import expire_vouchers
from crmkit_loyalty.tiers import evaluate_tiers, evaluation_due

log = logging.getLogger("crmkit.loyalty")

EXPIRY_BATCH = 500


def expire_points(now: dt.datetime | None = None, batch: int = EXPIRY_BATCH) -> int:
    """Write an expire transaction for every member holding points past their date; returns how
    many members lost points. Members are locked in id order, a batch per transaction."""
    now = now or utcnow()
    done, after = 0, 0
    while True:
        with write_transaction():
            ids = ledger.members_with_lapsed_points(now, after, batch)
            if not ids:
                break
            for member_id in ids:
                if ledger.expire_member(ledger.lock_member(member_id), now) is not None:
                    done += 1
            after = ids[-1]
    with write_transaction():
        vouchers = expire_vouchers(now)
    log.info("loyalty: expired points of %s member(s), %s voucher(s)", done, vouchers)
    return done


def evaluate_due_tiers(now: dt.datetime | None = None) -> list[str]:
    """Evaluate every active programme whose tier schedule (daily, weekly, monthly, yearly) has
    started a new period since its last evaluation; returns their codes."""
    now = now or utcnow()
    done = []
    for programme in list(Programme.select().where(Programme.active == True)):  # noqa: E712
        if evaluation_due(programme, now):
            with write_transaction():
                result = evaluate_tiers(programme, as_of=now)
            log.info("loyalty: %s tiers evaluated, %s changed", programme.code, result.changed)
            done.append(programme.code)
    return done
