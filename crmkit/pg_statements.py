"""PostgreSQL statements crmkit prepares itself, by name, once per connection.

psycopg prepares frequent queries on its own, and drops every prepared statement of the session
(``DEALLOCATE ALL``) after a rollback, a ``ROLLBACK TO SAVEPOINT`` or DDL, ours included. The
connections crmkit opens are :class:`Connection`, which notes when that happens, so a statement
is prepared again before its next use instead of failing with "prepared statement does not exist".

A statement dropped without psycopg knowing (a ``DISCARD ALL`` run by a caller on a connection
psycopg has prepared nothing on yet) fails the one transaction that uses it next; the caller
then calls :func:`forget` and the transaction after that prepares it again.
"""
from __future__ import annotations

import weakref

import psycopg
from psycopg import pq

# Whether psycopg still drops statements through the method Connection hooks; if a later
# psycopg does not, nothing is prepared here and callers take their slower, general path.
SUPPORTED = callable(getattr(psycopg.Connection, "_deallocate", None))

# The names prepared on each libpq connection, for as long as it lives.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Connection(psycopg.Connection):
    """psycopg's connection, telling this module when psycopg deallocates every statement."""

    def _deallocate(self, name):
        if name is None:
            _prepared.pop(self.pgconn, None)
        return super()._deallocate(name)


def usable(connection) -> bool:
    """Whether statements may be prepared on ``connection``: one of crmkit's, whose owner has not
    turned psycopg's own preparing off (``prepare_threshold=None``, the setting for poolers
    that do not carry prepared statements across server connections)."""
    return SUPPORTED and isinstance(connection, Connection) \
        and connection.prepare_threshold is not None


def forget(connection: Connection, name: bytes) -> None:
    """``name`` is no longer prepared on ``connection`` (the server said so)."""
    _prepared.get(connection.pgconn, set()).discard(name)


def ensure_prepared(connection: Connection, name: bytes, sql: bytes) -> None:
    """Prepare ``sql`` as ``name`` on ``connection`` unless it already is. Hold the connection's
    lock around this and the statement's use."""
    pgconn = connection.pgconn
    names = _prepared.setdefault(pgconn, set())
    if name in names:
        return
    result = pgconn.prepare(name, sql)
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result, encoding=connection.info.encoding)
    names.add(name)
