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
    encoding = connection.info.encoding
    params = [[None if value is None else str(value).encode(encoding) for value in row]
              for row in rows]
    with connection.lock:
        pg_statements.ensure_prepared(connection, name, sql)
        results = _pipeline(connection.pgconn, name, params)
    for result in results:
        if result.status not in _OK:
            raise psycopg.errors.error_from_result(result, encoding=encoding)
    return [int(result.get_value(0, 0)) for result in results[:-1]]


def _pipeline(pgconn: pq.abc.PGconn, name: bytes, params: list[list]) -> list:
    """Send the executions, the COMMIT and a sync point; read every result up to the sync.

    An execution that fails makes the server skip the rest (their results say so) up to the
    sync point; all of them are read before leaving pipeline mode, which libpq requires.
    """
    pgconn.enter_pipeline_mode()
    try:
        for values in params:
            pgconn.send_query_prepared(name, values)
        pgconn.send_query_params(b"COMMIT", None)
        pgconn.pipeline_sync()
        socket = pgconn.socket
        while pgconn.flush():  # psycopg keeps its connections non-blocking
            _wait(socket, select.POLLOUT)
        results = []
        while True:
            while pgconn.is_busy():
                _wait(socket, select.POLLIN)
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:  # the end of one statement's results
                continue
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                return results
            results.append(result)
    finally:
        if pgconn.pipeline_status != pq.PipelineStatus.OFF:
            try:
                pgconn.exit_pipeline_mode()
            except psycopg.Error:
                pass  # only when the connection broke half-way: that error is on its way up


def _wait(socket: int, event: int) -> None:
    poller = select.poll()  # poll, not select: a server process may have sockets past 1024
    poller.register(socket, event)
    poller.poll()
