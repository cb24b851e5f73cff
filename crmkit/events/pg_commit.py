"""PostgreSQL: insert queued rows and COMMIT in one network round trip.

Every write request that emits an event ends here, so this is the outbox's hot path. psycopg's
own pipeline (``with connection.pipeline()``) does the same job but costs about 50 us of Python
per use on top of the server's work (measured with bench/events_write_overhead.py: it was a third
of what an event added to a write request). This drives libpq's pipeline mode directly: one
prepared INSERT per row, the COMMIT and a sync point are sent together, then the results are
read back.

Only rows go through here whose statement takes text parameters; errors come back as the same
psycopg exceptions a normal ``execute`` raises, after the pipeline has been drained, so the
connection stays usable and the caller's rollback works as usual.
"""
from __future__ import annotations

import select

import psycopg
from psycopg import pq

from crmkit import pg_statements

_OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)


def usable(connection: psycopg.Connection) -> bool:
    """Whether ``connection`` is one of crmkit's, in a plain open transaction this module can
    commit."""
    if not pg_statements.usable(connection):
        return False
    pgconn = connection.pgconn
    return (pgconn.pipeline_status == pq.PipelineStatus.OFF
            and pgconn.transaction_status == pq.TransactionStatus.INTRANS)


def insert_and_commit(connection: pg_statements.Connection, name: bytes, sql: bytes,
                      rows: list[tuple]) -> list[int]:
    """Run the statement ``sql`` (prepared once per connection as ``name``; it must return one
    integer column) for each of ``rows`` and COMMIT, in one round trip. Returns the integers.

    Values are sent as text: ``str`` and ``int`` values, or None for NULL.
    """
    # psycopg's own choice: SQL_ASCII databases take their text as UTF-8.
    encoding = "utf-8" if connection.info.encoding == "ascii" else connection.info.encoding
    params = [[None if value is None else _text(value, encoding) for value in row]
              for row in rows]
    with connection.lock:
        pg_statements.ensure_prepared(connection, name, sql)
        try:
            results = _pipeline(connection.pgconn, name, params)
        except BaseException:
            if connection.pgconn.pipeline_status != pq.PipelineStatus.OFF:
                # Interrupted with results unread (Ctrl-C, a timeout, a broken connection): the
                # connection cannot be used again, and whether the COMMIT happened is unknown.
                # Closed, the pool drops it.
                connection.close()
            raise
    for result in results:
        if result.status not in _OK:
            error = psycopg.errors.error_from_result(result, encoding=encoding)
            if isinstance(error, psycopg.errors.InvalidSqlStatementName):
                # Dropped behind psycopg's back (a DISCARD ALL of the caller's, a pooler): this
                # transaction is lost, the next one prepares the statement again.
                pg_statements.forget(connection, name)
            raise error
    return [int(result.get_value(0, 0)) for result in results[:-1]]


def _text(value, encoding: str) -> bytes:
    data = str(value).encode(encoding)
    if b"\x00" in data:  # libpq would cut a text parameter at its first NUL without a word
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return data


def _pipeline(pgconn: pq.abc.PGconn, name: bytes, params: list[list]) -> list:
    """Send the executions, the COMMIT and a sync point; read every result up to the sync.

    An execution that fails makes the server skip the rest (their results say so) up to the
    sync point; all of them are read before leaving pipeline mode, which libpq requires.
    """
    pgconn.enter_pipeline_mode()
    for values in params:
        pgconn.send_query_prepared(name, values)
    pgconn.send_query_params(b"COMMIT", None)
    pgconn.pipeline_sync()
    socket = pgconn.socket
    # psycopg keeps its connections non-blocking. Reading while sending, as libpq asks, keeps
    # both sides from waiting on full buffers.
    while pgconn.flush():
        if _wait(socket, select.POLLIN | select.POLLOUT) & select.POLLIN:
            pgconn.consume_input()
    results = []
    while True:
        while pgconn.is_busy():
            _wait(socket, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            continue
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            pgconn.exit_pipeline_mode()
            return results
        results.append(result)


def _wait(socket: int, events: int) -> int:
    poller = select.poll()  # poll, not select: a server process may have sockets past 1024
    poller.register(socket, events)
    return poller.poll()[0][1]
