"""Domain events: the transactional outbox and its feed.

``emit(type, payload, subject=..., subject_id=...)`` records an event in the caller's transaction
(written just before it commits);
``GET /api/v1/events`` and the webhook worker read the committed events in order.
The envelope is described in ``docs/events.md``.
"""
from crmkit.events.feed import Cursor, envelope, read_feed
from crmkit.events.models import Event, EventConsumer
from crmkit.events.outbox import Emitted, emit, emit_many, flush, take_turn

__all__ = ["Cursor", "Emitted", "Event", "EventConsumer", "emit", "emit_many", "envelope",
           "flush", "read_feed", "take_turn"]
