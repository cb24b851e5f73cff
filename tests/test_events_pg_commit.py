"""PostgreSQL: queued events and the COMMIT go to the server together (crmkit.events.pg_commit)."""
import uuid

import peewee
import psycopg
import pytest

from crmkit.db import database, write_transaction
from crmkit.events import Event, emit
from crmkit.events import pg_commit
from crmkit.events.outbox import _PG_PREPARED
from crmkit.testing import _is_postgres, configured_test_database

pytestmark = pytest.mark.skipif(not _is_postgres(configured_test_database()),
                                reason="libpq's pipeline is PostgreSQL's; SQLite has no round trip")


def test_several_events_and_the_commit_go_in_one_round_trip(app, db):
    with write_transaction():
        first = emit("shop.order.placed", {"n": 1}, subject="order", subject_id=1)
        second = emit("shop.order.shipped", {"n": 2})
        third = emit("shop.order.paid", {"amount": "9.90"}, subject="order", subject_id="ü-1")
    assert first.id < second.id < third.id
    stored = {e.id: e for e in Event.select()}
    assert [(stored[e.id].uuid, stored[e.id].type, stored[e.id].subject, stored[e.id].subject_id,
             stored[e.id].payload) for e in (first, second, third)] == [
        (first.uuid, "shop.order.placed", "order", "1", '{"n":1}'),
        (second.uuid, "shop.order.shipped", None, None, '{"n":2}'),
        (third.uuid, "shop.order.paid", "order", "ü-1", '{"amount":"9.90"}')]
    assert stored[first.id].occurred_at == first.occurred_at
    assert database.connection().pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_a_failing_insert_raises_stores_nothing_and_leaves_the_connection_usable(app, db):
    connection = database.connection()
    with write_transaction():
        database.execute_sql("CREATE TABLE pg_commit_note (body text)")
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        with write_transaction():
            database.execute_sql("INSERT INTO pg_commit_note VALUES ('kept only with its event')")
            pg_commit.insert_and_commit(
                connection, b"crmkit_event_insert", _PG_PREPARED,
                [(uuid.uuid4().hex, "shop.order.placed", 1, "2026-11-23 10:00:00", None, None,
                  "{}"),
                 ("not a uuid", "shop.order.placed", 1, "2026-11-23 10:00:00", None, None, "{}")])
    assert database.execute_sql("SELECT count(*) FROM pg_commit_note").fetchone() == (0,)
    assert Event.select().count() == 0
    assert connection.pgconn.pipeline_status == psycopg.pq.PipelineStatus.OFF
    with write_transaction():  # the same connection, its prepared statement still there
        event = emit("shop.order.placed", {"n": 3})
    assert [e.id for e in Event.select()] == [event.id]


def test_a_failing_commit_takes_the_events_with_it(app, db):
    """A deferred constraint fails at COMMIT, after the events were inserted: none is kept."""
    connection = database.connection()
    with write_transaction():
        database.execute_sql("CREATE TABLE pg_commit_check (n integer UNIQUE DEFERRABLE "
                             "INITIALLY DEFERRED)")
    with pytest.raises(peewee.IntegrityError) as raised:
        with write_transaction():
            database.execute_sql("INSERT INTO pg_commit_check VALUES (1), (1)")
            emit("shop.order.placed", {"n": 1})
    assert "unique" in str(raised.value).lower()
    assert Event.select().count() == 0
    assert connection.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with write_transaction():
        emit("shop.order.placed", {"n": 2})
    assert Event.select().count() == 1


def test_outside_a_plain_transaction_the_module_stands_aside(app, db):
    connection = database.connection()
    assert not pg_commit.usable(connection)  # no transaction open
    with write_transaction():
        database.execute_sql("SELECT 1")
        assert pg_commit.usable(connection)


def test_psycopg_dropping_every_prepared_statement_mid_transaction_is_survived(app, db):
    """psycopg sends DEALLOCATE ALL after a ROLLBACK TO SAVEPOINT once it has prepared queries of
    its own; the outbox's statement goes with them and is prepared again before its next use."""
    connection = database.connection()
    with write_transaction():
        emit("shop.order.placed", {"n": 1})  # prepares the outbox's statement
    with write_transaction():
        for _ in range(6):  # psycopg prepares a query from its fifth run
            database.execute_sql("SELECT count(*) FROM event").fetchone()
        with database.atomic() as savepoint:
            emit("shop.order.cancelled", {"n": 2})
            savepoint.rollback()
        prepared = [name for (name,) in database.execute_sql(
            "SELECT name FROM pg_prepared_statements").fetchall()]
        assert "crmkit_event_insert" not in prepared  # psycopg dropped it
        emit("shop.order.shipped", {"n": 3})
    assert [e.type for e in Event.select().order_by(Event.id)] == [
        "shop.order.placed", "shop.order.shipped"]
    assert connection is database.connection()


def test_a_nul_in_a_text_value_is_refused_not_cut_short(app, db):
    """libpq reads a text parameter up to its first NUL: sent as is, 'abc\\0def' would be stored
    as 'abc'. It is refused as psycopg refuses it on its own path."""
    with pytest.raises(peewee.DataError):
        with write_transaction():
            emit("shop.order.placed", {"n": 1}, subject="order", subject_id="abc\x00def")
    assert Event.select().count() == 0


def test_a_statement_dropped_behind_psycopgs_back_fails_one_commit_then_is_prepared_again(
        app, db):
    """Dropped on a connection psycopg has prepared nothing on (so its rollback sends no
    DEALLOCATE ALL to tell us): the next commit fails, the one after prepares it again."""
    connection = database.connection()
    connection.prepare_threshold = 10**9  # psycopg prepares nothing of its own from here on
    try:
        database.execute_sql("DEALLOCATE ALL")  # psycopg forgets what it had prepared
        with write_transaction():
            emit("shop.order.placed", {"n": 1})
        database.execute_sql("DEALLOCATE crmkit_event_insert")
        with pytest.raises(peewee.ProgrammingError, match="does not exist"):
            with write_transaction():
                emit("shop.order.shipped", {"n": 2})
        with write_transaction():
            emit("shop.order.paid", {"n": 3})
    finally:
        connection.prepare_threshold = 5
    assert [e.type for e in Event.select().order_by(Event.id)] == [
        "shop.order.placed", "shop.order.paid"]


def test_a_sql_ascii_client_encoding_sends_text_as_utf8(app, db):
    """As psycopg does: with SQL_ASCII nothing is converted, and text goes as UTF-8."""
    database.execute_sql("SET client_encoding TO 'SQL_ASCII'")
    try:
        with write_transaction():
            event = emit("shop.order.placed", {"name": "Zoë Müller"}, subject_id="ü-1")
    finally:
        database.execute_sql("SET client_encoding TO 'UTF8'")
    stored = Event.get_by_id(event.id)
    assert (stored.payload, stored.subject_id) == ('{"name":"Zoë Müller"}', "ü-1")


def test_a_commit_interrupted_while_waiting_closes_its_connection(app, db, monkeypatch):
    """Ctrl-C (or a timeout) with the results unread: the connection is half in pipeline mode
    and cannot be used again, so it is closed and the next transaction gets a fresh one."""
    connection = database.connection()

    def interrupted(socket, events):
        raise KeyboardInterrupt

    monkeypatch.setattr(pg_commit, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with write_transaction():
            emit("shop.order.placed", {"n": 1})
    monkeypatch.undo()
    assert connection.closed
    database.close()
    with write_transaction():
        emit("shop.order.shipped", {"n": 2})
    assert "shop.order.shipped" in [e.type for e in Event.select()]


def test_without_psycopgs_own_preparing_the_general_path_is_taken(app, db):
    connection = database.connection()
    connection.prepare_threshold = None  # as for a pooler that cannot carry prepared statements
    try:
        with write_transaction():
            database.execute_sql("SELECT 1")
            assert not pg_commit.usable(connection)
            event = emit("shop.order.placed", {"n": 1})
        assert Event.get_by_id(event.id).type == "shop.order.placed"
    finally:
        connection.prepare_threshold = 5
