"""``emit_many`` (many events of one type in multi-row INSERTs, the same as emit would write)
and ``take_turn`` (queue for the feed before taking row locks)."""
import decimal

import pytest

from crmkit.db import write_transaction
from crmkit.events import Event, emit, emit_many, take_turn


def feed(client):
    response = client.get("/api/v1/events", query_string={"limit": 200})
    assert response.status_code == 200, response.json
    return response.json["events"]


def test_emit_many_writes_what_emit_writes_in_order(app, db):
    with write_transaction():
        emit("loyalty.tier.changed", {"member_id": 0, "to": "Gold"}, subject="customer",
             subject_id=10)
        written = emit_many("loyalty.tier.changed",
                            ((10 + i, {"member_id": i, "measure": decimal.Decimal("1.50")})
                             for i in range(1, 8)), subject="customer", batch=3)
    assert written == 7
    events = feed(app.test_client())
    assert [e["subject_id"] for e in events] == [str(10 + i) for i in range(8)]
    assert events[1]["payload"] == {"member_id": 1, "measure": "1.50"}
    assert {e["type"] for e in events} == {"loyalty.tier.changed"}
    assert len({e["id"] for e in events}) == 8
    assert all(e["occurred_at"].endswith("Z") for e in events)


def test_emit_many_rolls_back_with_the_transaction_and_checks_its_input(app, db):
    with pytest.raises(RuntimeError):
        with write_transaction():
            emit_many("loyalty.tier.changed", [(1, {"a": 1}), (2, {"a": 2})])
            raise RuntimeError("the evaluation failed")
    assert Event.select().count() == 0
    with pytest.raises(ValueError, match="dotted lower case"):
        emit_many("Tier changed", [(1, {})])
    with pytest.raises(TypeError, match="must be a dict"):
        with write_transaction():
            emit_many("loyalty.tier.changed", [(1, [1])])
    assert emit_many("loyalty.tier.changed", []) == 0
    assert Event.select().count() == 0


def test_take_turn_before_row_locks_then_emit(app, db):
    with write_transaction():
        take_turn()
        take_turn()  # again in the same transaction: free
        emit("loyalty.points.adjusted", {"points": 5})
    assert Event.select().count() == 1
