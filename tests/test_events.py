"""The transactional outbox: emit in the caller's transaction, and the ordered feed."""
import decimal
import datetime as dt
import uuid

import pytest
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit import Manifest, hookimpl
from crmkit.db import connection, database, write_transaction
from crmkit.events import Event, emit
from crmkit.testing import configured_test_database, _is_postgres


class Shop:
    """A throwaway plugin whose endpoint emits an event and then succeeds or fails."""

    manifest = Manifest(name="shop")

    def __init__(self):
        self.blp = Blueprint("shop", __name__, url_prefix="/orders")

        @self.blp.route("")
        class Orders(MethodView):
            def post(self):
                from flask import request
                body = request.get_json()
                emit("shop.order.placed", {"total": decimal.Decimal(body["total"])},
                     subject="order", subject_id=body["id"])
                if body.get("fail"):
                    from crmkit.errors import ValidationError
                    raise ValidationError({"total": "Too much."})
                return {"ok": True}, 201

    @hookimpl
    def register_blueprints(self):
        return [self.blp]


def feed(client, **params):
    response = client.get("/api/v1/events", query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def test_emit_writes_an_event_with_the_envelope_fields(app, db):
    with write_transaction():
        event = emit("customer.created",
                     {"name": "Ada", "limit": decimal.Decimal("10.50"),
                      "born": dt.date(1815, 12, 10), "ref": uuid.UUID(int=1)},
                     subject="customer", subject_id=42)
    stored = Event.get_by_id(event.id)
    assert stored.uuid == event.uuid and stored.type == "customer.created"
    assert stored.subject_id == "42" and stored.schema_version == 1
    assert stored.occurred_at.tzinfo is dt.timezone.utc

    page = feed(app.test_client())
    [item] = page["events"]
    assert item["id"] == str(event.uuid)
    assert item["payload"] == {"name": "Ada", "limit": "10.50", "born": "1815-12-10",
                               "ref": "00000000-0000-0000-0000-000000000001"}
    assert item["occurred_at"].endswith("Z")
    assert set(item) == {"id", "type", "schema_version", "occurred_at", "subject", "subject_id",
                         "payload", "cursor"}
    assert page["next_cursor"] == item["cursor"] and page["has_more"] is False


def test_a_rolled_back_transaction_leaves_no_event(app, db):
    with pytest.raises(RuntimeError):
        with write_transaction():
            emit("customer.created", {"id": 1})
            raise RuntimeError("the change failed")
    assert Event.select().count() == 0


def test_an_error_answer_leaves_no_event_and_a_success_leaves_one(make_app):
    client = make_app(plugins=[Shop()]).test_client()
    failed = client.post("/api/v1/shop/orders", json={"id": 1, "total": "5.00", "fail": True})
    assert failed.status_code == 422
    assert feed(client)["events"] == []
    assert client.post("/api/v1/shop/orders", json={"id": 2, "total": "7.25"}).status_code == 201
    [event] = feed(client)["events"]
    assert (event["type"], event["subject_id"], event["payload"]) == (
        "shop.order.placed", "2", {"total": "7.25"})


def test_bad_type_and_payload_are_refused_and_roll_back(app, db):
    for bad in ("Customer.Created", "created", "a..b", "x" * 101 + ".y"):
        with pytest.raises(ValueError, match="dotted lower case"):
            emit(bad, {})
    with pytest.raises(TypeError, match="not JSON serialisable"):
        with write_transaction():
            emit("customer.created", {"when": object()})
    with pytest.raises(TypeError, match="must be a dict"):
        emit("customer.created", [1, 2])
    assert Event.select().count() == 0


def test_feed_pages_in_order_with_a_keyset_cursor(app, db):
    with write_transaction():
        for i in range(7):
            emit("customer.created" if i % 2 else "customer.updated", {"n": i},
                 subject="customer", subject_id=i)
    client = app.test_client()
    seen, cursor = [], None
    for _ in range(10):  # bounded: 7 events in pages of 3 need 3 pages
        params = {"limit": 3} | ({"after": cursor} if cursor else {})
        page = feed(client, **params)
        seen += [e["payload"]["n"] for e in page["events"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == list(range(7))
    # Polling again from the end gives nothing and keeps the cursor.
    assert feed(client, after=cursor) == {"events": [], "next_cursor": cursor, "has_more": False}
    with write_transaction():
        emit("customer.deleted", {"n": 7})
    assert [e["payload"]["n"] for e in feed(client, after=cursor)["events"]] == [7]


def test_feed_filters_by_type_pattern_and_subject(app, db):
    with write_transaction():
        emit("customer.created", {"n": 1}, subject="customer", subject_id=1)
        emit("sales.deal.stage_changed", {"n": 2}, subject="deal", subject_id=1)
        emit("customer.updated", {"n": 3}, subject="customer", subject_id=2)
        emit("customerx.created", {"n": 4})
    client = app.test_client()

    def ns(**params):
        return [e["payload"]["n"] for e in feed(client, **params)["events"]]

    assert ns(type="customer.*") == [1, 3]
    assert ns(type="customer.created,sales.deal.stage_changed") == [1, 2]
    assert ns(type=["customer.updated", "sales.*"]) == [2, 3]
    assert ns(type="*") == [1, 2, 3, 4]
    assert ns(subject="customer", subject_id="2") == [3]


def test_a_filtered_page_walks_a_bounded_window_and_the_next_goes_on(app, db, monkeypatch):
    """Rare matches far apart: each page examines at most SCAN_WINDOW ids, may come back short or
    empty with has_more, and following next_cursor finds every match once, in order."""
    from crmkit.events import feed as feed_module
    monkeypatch.setattr(feed_module, "SCAN_WINDOW", 3)
    with write_transaction():
        for n in range(11):
            emit("shop.order.placed" if n in (1, 2, 3, 9) else "customer.updated", {"n": n},
                 subject="order" if n in (1, 2, 3, 9) else "customer", subject_id=n)
    ids = [e.id for e in Event.select(Event.id).order_by(Event.id)]
    client = app.test_client()
    for params in ({"type": "shop.*"}, {"type": "shop.order.placed"}, {"subject": "order"}):
        pages, cursor = [], None
        for _ in range(10):  # bounded: 11 events in windows of 3 need 4 pages
            page = feed(client, limit=2, **params, **({"after": cursor} if cursor else {}))
            pages.append([e["payload"]["n"] for e in page["events"]])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        # limit 2 ends the first page inside the window; the next one ends with its window,
        # the one after that is empty (window of non-matches), the last finds 9 and ends.
        assert pages == [[1, 2], [3], [], [9]], params
        assert cursor == str(ids[-1])
    # Unfiltered pages are full pages of the keyset, whatever the window.
    assert [e["payload"]["n"] for e in feed(client, limit=6)["events"]] == list(range(6))


def read_all(app, limit=2, **params) -> list[list[int]]:
    """Every page of a filtered read, following next_cursor while has_more (bounded)."""
    from crmkit.events.feed import read_feed
    pages, cursor = [], None
    with app.app_context(), connection():
        for _ in range(20):
            page = read_feed(cursor, limit=limit, **params)
            pages.append([e["payload"]["n"] for e in page.events])
            cursor = page.next_cursor
            if not page.has_more:
                return pages
    raise AssertionError(f"the reader did not reach the end: {pages}")


def test_a_gap_in_the_ids_wider_than_the_window_is_walked_past(app, db, monkeypatch):
    """The window counts events, not ids: ids lost to rolled-back inserts (PostgreSQL's
    sequence does not give them back) leave no empty window for the cursor to stall in."""
    from crmkit.events import feed as feed_module
    from crmkit.events import flush
    monkeypatch.setattr(feed_module, "SCAN_WINDOW", 3)
    with write_transaction():
        emit("shop.order.placed", {"n": 1})
    with pytest.raises(RuntimeError):
        with write_transaction():
            for n in range(8):
                emit("customer.updated", {"n": 100 + n})
            flush()  # the ids are taken
            raise RuntimeError("roll back")
    with write_transaction():
        emit("customer.updated", {"n": 2})
        emit("shop.order.placed", {"n": 3})
    assert [n for page in read_all(app, types=["shop.*"]) for n in page] == [1, 3]


def test_an_event_committed_while_a_filtered_page_is_read_comes_on_a_later_page(
        app, db, monkeypatch):
    from crmkit.events import feed as feed_module
    monkeypatch.setattr(feed_module, "SCAN_WINDOW", 3)
    original, committed = feed_module.window_end, []

    def window_end_then_a_commit(cursor):
        end = original(cursor)
        if not committed:  # another writer commits between the page's two reads
            with write_transaction():
                committed.append(emit("shop.order.placed", {"n": 9}).id)
        return end

    monkeypatch.setattr(feed_module, "window_end", window_end_then_a_commit)
    with write_transaction():
        emit("shop.order.placed", {"n": 1})
        emit("customer.updated", {"n": 2})
    assert read_all(app, limit=5, types=["shop.*"]) == [[1], [9]]


def test_feed_rejects_bad_input_with_422(app):
    client = app.test_client()
    limit = app.config["CRMKIT_MAX_PAGE_SIZE"]
    for params, field in (({"after": "yesterday"}, "after"), ({"limit": limit + 1}, "limit"),
                          ({"limit": 0}, "limit"), ({"type": "Customer!"}, "type")):
        response = client.get("/api/v1/events", query_string=params)
        assert response.status_code == 422, params
        assert field in response.json["errors"]["json"]


def test_feed_page_size_follows_max_page_size(make_app):
    app = make_app(MAX_PAGE_SIZE=5)
    with app.app_context(), connection(), write_transaction():
        Event.insert_many([{"uuid": uuid.uuid4(), "type": "customer.created", "payload": "{}"}
                           for _ in range(12)]).execute()
    client = app.test_client()
    assert len(feed(client)["events"]) == 5
    assert client.get("/api/v1/events?limit=6").status_code == 422


@pytest.mark.skipif(not _is_postgres(configured_test_database()),
                    reason="PostgreSQL hands out ids before commit; SQLite serialises writers")
def test_a_late_committing_transaction_is_never_skipped_on_postgresql(app, db, crmkit_database_url):
    """Transaction A emits first and commits late; B emits meanwhile. A reader polling in between
    must not move past A: B waits for A's commit, so ids follow commit order."""
    import threading

    import psycopg
    from crmkit.events.outbox import _insert_sql
    client = app.test_client()
    late = psycopg.connect(crmkit_database_url)
    try:
        sql = _insert_sql().replace("?", "%s")
        late.execute(sql, (str(uuid.uuid4()), "customer.created", 1, dt.datetime.utcnow(), None,
                           None, '{"n": 1}'))
        done = threading.Event()

        def other_writer():
            with app.app_context(), connection(), write_transaction():
                emit("customer.created", {"n": 2})
            done.set()

        writer = threading.Thread(target=other_writer)
        writer.start()
        assert not done.wait(0.5)  # B takes its turn after A
        first = feed(client)
        assert first["events"] == []
        late.commit()
        writer.join(timeout=10)
        assert done.is_set()
    finally:
        late.close()
    second = feed(client, after=first["next_cursor"])
    assert [e["payload"]["n"] for e in second["events"]] == [1, 2]


def test_migration_0007_drops_the_outbox_indexes_and_keeps_its_events(make_app):
    from playhouse.migrations import Runner

    from crmkit.schema import KERNEL_MIGRATIONS, drift, upgrade
    app = make_app(upgrade=False)
    pm = app.extensions["crmkit"].pm
    with connection():
        Runner(database.obj, KERNEL_MIGRATIONS, table_name="migrations_crmkit").up(
            "0006_not_duplicates_and_import_format")
        assert {i.name for i in database.get_indexes("event")} >= {"event_uuid", "event_type_id"}
        with write_transaction():
            emit("customer.created", {"n": 1}, subject="customer", subject_id=1)
    [result] = upgrade(pm, only="crmkit")
    assert result.applied[0] == "0007_event_indexes"  # and any later ones
    with app.app_context(), connection():
        assert {i.name for i in database.get_indexes("event")} <= {"event_pkey"}
        assert [e.payload for e in Event.select()] == ['{"n":1}']
    assert drift(pm) == {}
