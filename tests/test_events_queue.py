"""emit queues its event until the transaction commits: savepoints, flush, order and the turn."""
import threading

import pytest

from crmkit.db import connection, database, write_transaction
from crmkit.events import Event, emit, emit_many, flush
from crmkit.testing import _is_postgres, configured_test_database


def stored_types() -> list[str]:
    return [e.type for e in Event.select(Event.type).order_by(Event.id)]


def test_the_event_is_written_at_commit_and_gets_its_id_then(app, db):
    with write_transaction():
        event = emit("customer.created", {"n": 1}, subject="customer", subject_id=7)
        assert event.id is None
        assert Event.select().count() == 0  # queued, not yet sent
    assert event.id is not None
    stored = Event.get_by_id(event.id)
    assert (stored.uuid, stored.type, stored.subject, stored.subject_id) == (
        event.uuid, "customer.created", "customer", "7")
    assert stored.occurred_at == event.occurred_at.replace(microsecond=stored.occurred_at.microsecond)


def test_outside_a_transaction_the_event_is_written_at_once(app, db):
    event = emit("customer.created", {"n": 1})
    assert event.id is not None and Event.get_by_id(event.id).type == "customer.created"


def test_a_rolled_back_savepoint_takes_only_its_own_events(app, db):
    with write_transaction():
        emit("shop.order.placed", {"n": 1})
        with pytest.raises(RuntimeError):
            with database.atomic():
                emit("shop.order.cancelled", {"n": 2})
                with database.atomic():
                    emit("shop.order.refunded", {"n": 3})
                raise RuntimeError("the savepoint rolls back")
        with database.atomic():
            emit("shop.order.shipped", {"n": 4})
    assert stored_types() == ["shop.order.placed", "shop.order.shipped"]


def test_a_savepoint_rolled_back_by_hand_and_reused_forgets_what_it_queued(app, db):
    with write_transaction():
        emit("shop.order.placed", {"n": 1})
        with database.atomic() as savepoint:
            emit("shop.order.cancelled", {"n": 2})
            savepoint.rollback()  # and begins again
            emit("shop.order.shipped", {"n": 3})
    assert stored_types() == ["shop.order.placed", "shop.order.shipped"]


def test_a_rolled_back_transaction_sends_nothing_and_the_next_one_starts_clean(app, db):
    with pytest.raises(RuntimeError):
        with write_transaction():
            emit("shop.order.placed", {"n": 1})
            raise RuntimeError("roll back")
    with write_transaction():
        emit("shop.order.shipped", {"n": 2})
    assert stored_types() == ["shop.order.shipped"]


def test_flush_makes_queued_events_visible_inside_the_transaction(app, db):
    with write_transaction():
        first = emit("shop.order.placed", {"n": 1})
        flush()
        assert first.id is not None
        assert stored_types() == ["shop.order.placed"]
        emit("shop.order.shipped", {"n": 2})
    assert stored_types() == ["shop.order.placed", "shop.order.shipped"]


def test_emit_many_keeps_the_order_of_events_emitted_before_it(app, db):
    with write_transaction():
        emit("shop.order.placed", {"n": 0})
        emit_many("shop.order.shipped", [(1, {"n": 1}), (2, {"n": 2})], subject="order")
        emit("shop.order.closed", {"n": 3})
    assert stored_types() == ["shop.order.placed", "shop.order.shipped", "shop.order.shipped",
                              "shop.order.closed"]


@pytest.mark.skipif(not _is_postgres(configured_test_database()),
                    reason="the feed's turn is a PostgreSQL advisory lock; SQLite serialises "
                           "writers by itself")
def test_an_open_transaction_that_emitted_does_not_hold_up_other_emitters(app, db):
    """The turn is taken at commit, so a slow transaction that has emitted does not make every
    other event writer wait for it; ids still follow commit order."""
    emitted, may_commit = threading.Event(), threading.Event()
    errors = []

    def slow():
        try:
            with app.app_context(), connection(), write_transaction():
                emit("shop.order.placed", {"who": "slow"})
                emitted.set()
                assert may_commit.wait(10)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert emitted.wait(10)
        fast_done = threading.Event()

        def fast():
            with app.app_context(), connection(), write_transaction():
                emit("shop.order.placed", {"who": "fast"})
            fast_done.set()

        other = threading.Thread(target=fast)
        other.start()
        assert fast_done.wait(10), "the second writer waited for the open transaction"
        other.join(10)
    finally:
        may_commit.set()
        thread.join(10)
    assert not errors
    payloads = [e.payload for e in Event.select().order_by(Event.id)]
    assert payloads == ['{"who":"fast"}', '{"who":"slow"}']
