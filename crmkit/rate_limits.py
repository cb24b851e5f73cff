"""Counting requests per caller in fixed windows: in this process, or in Redis shared by all.

The gate asks once per request (:func:`crmkit.limits.check_rate_limit`). Flask-Limiter did this
job at about a fifth of a cheap request (resolving its limits per request, two more storage reads
for the response headers, a timer thread to expire memory counters); here it is one dict update in
memory, or an INCR and a TTL in Redis through the ``limits`` library's storage when
``CRMKIT_REDIS_URL`` is set.

A window starts with a caller's first request and lasts the limit's period (``limits``' fixed
window): the counter counts every request, refused ones too, so hammering does not shorten the
wait. When Redis does not answer, each process counts in memory and tries Redis again after
:data:`RETRY_SHARED_AFTER` seconds: a limit that is a little loose for a while beats refusing
everyone.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse_many

log = logging.getLogger("crmkit.limits")

RETRY_SHARED_AFTER = 30.0
_SWEEP_EVERY = 60.0


@lru_cache(maxsize=64)
def parse_limits(text: str) -> tuple[RateLimitItem, ...]:
    """``"10 per second; 600 per minute"`` as limit items, shortest period first."""
    return tuple(sorted(parse_many(text), key=lambda item: item.GRANULARITY.seconds
                        * item.multiples))


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    item: RateLimitItem  # what the headers report: the limit broken, else the first one
    remaining: int
    reset_at: float  # epoch seconds


class MemoryWindows:
    """Fixed-window counters of this process."""

    def __init__(self) -> None:
        self._windows: dict[str, list] = {}  # key -> [ends at (epoch s), count]
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def incr(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        """The count after adding ``amount``, and when the window ends."""
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                # Ended windows go, so callers that came once do not pile up.
                self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
                self._next_sweep = now + _SWEEP_EVERY
            window = self._windows.get(key)
            if window is None or window[0] <= now:
                window = self._windows[key] = [now + expiry, 0]
            window[1] += amount
            return window[1], window[0]


class SharedWindows:
    """Fixed-window counters in Redis (or any storage the ``limits`` library opens)."""

    def __init__(self, uri: str) -> None:
        from limits.storage import storage_from_string
        self.storage = storage_from_string(uri)

    def incr(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        count = self.storage.incr(key, expiry, amount=amount)
        return count, self.storage.get_expiry(key)


class RateLimiter:
    """Per-caller limits for the gate; :meth:`hit` also serves plugins' limits of their own."""

    def __init__(self, storage_uri: str, prefix: str) -> None:
        self.prefix = prefix
        self._memory = MemoryWindows()
        self._shared = None if storage_uri.startswith("memory://") else SharedWindows(storage_uri)
        self._shared_down_until = 0.0

    @property
    def storage(self):
        """Where counts live: the shared storage if configured, else this process."""
        return self._shared.storage if self._shared is not None else self._memory

    @property
    def limiter(self) -> RateLimiter:
        # Flask-Limiter's name for its strategy object, which plugins call ``hit`` on.
        return self

    def _incr(self, item: RateLimitItem, identifiers: tuple[str, ...],
              amount: int) -> tuple[int, float]:
        key = item.key_for(self.prefix, *identifiers)
        shared = self._shared
        if shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return shared.incr(key, item.get_expiry(), amount)
            except Exception as exc:  # any storage error: count locally for a while
                log.warning("rate limit storage unreachable, counting in memory for %.0f s: %s",
                            RETRY_SHARED_AFTER, exc)
                self._shared_down_until = time.monotonic() + RETRY_SHARED_AFTER
        return self._memory.incr(key, item.get_expiry(), amount)

    def check(self, items: tuple[RateLimitItem, ...], *identifiers: str) -> Outcome | None:
        """Count one request against each limit, stopping at the first one broken."""
        report = None
        for item in items:
            count, reset_at = self._incr(item, identifiers, 1)
            outcome = Outcome(count <= item.amount, item, max(0, item.amount - count), reset_at)
            if not outcome.allowed:
                return outcome
            report = report or outcome
        return report

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count ``cost`` against ``item`` for ``identifiers``; False once over the limit
        (the ``limits`` strategies' interface)."""
        return self._incr(item, identifiers, cost)[0] <= item.amount
