"""The database: one proxy every model binds to, opened from a URL.

SQLite is the embedded default (WAL, foreign keys, busy timeout); PostgreSQL goes through psycopg 3.
"""
from __future__ import annotations

import datetime as dt
import decimal
from contextlib import contextmanager
from urllib.parse import urlparse

import peewee
from playhouse import db_url
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase



class _DatabaseProxy(peewee.DatabaseProxy):
    def savepoint(self):
        # peewee's proxy builds a plain savepoint itself; ours must come from the database so
        # that rolling one back also forgets the writes queued inside it (QueuedWrites).
        return self.obj.savepoint()


database = _DatabaseProxy()


class BaseModel(peewee.Model):
    """Base class for every crmkit model, kernel and plugins alike."""

    class Meta:
        database = database
        legacy_table_names = False


class ExactDecimalField(peewee.DecimalField):
    """Decimals read back at their declared scale on every engine.

    SQLite hands back what it stored (1234.56), PostgreSQL the declared scale (1234.5600);
    quantizing makes both answer the same. Values are rounded half-even on the way in.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_round", True)
        super().__init__(*args, **kwargs)

    def python_value(self, value):
        value = super().python_value(value)
        if value is None:
            return None
        return value.quantize(decimal.Decimal(1).scaleb(-self.decimal_places))


# SQLite stores a DECIMAL column with NUMERIC affinity: a value becomes a 64-bit float (or an
# integer through one), which keeps 15 significant digits. PostgreSQL's NUMERIC keeps them all.
SQLITE_DECIMAL_DIGITS = 15


def significant_digits(value: decimal.Decimal) -> int:
    """12345678901234.5678 has 18; 1500.0000 has 2 (zeros at the end are not kept apart)."""
    return len(value.normalize().as_tuple().digits)


def decimal_kept(value: decimal.Decimal) -> bool:
    """Whether the database reads ``value`` back exactly from a decimal column (of a size that
    holds it): on SQLite, no more than 15 significant digits."""
    return not is_sqlite() or significant_digits(value) <= SQLITE_DECIMAL_DIGITS


class MoneyField(ExactDecimalField):
    """Money: 18 digits with 4 places, never a float."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(*args, **kwargs)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTimeField(peewee.DateTimeField):
    """Timezone-aware UTC datetimes.

    Stored as naive UTC so SQLite and PostgreSQL hold the same thing; read back as aware UTC.
    """

    def db_value(self, value):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class _QueueingSavepoint(peewee._savepoint):
    """A savepoint that, rolled back, also forgets the writes queued since it began."""

    def _begin(self):
        super()._begin()
        self.mark = len(self.db.queued_writes())

    def rollback(self, begin=True):
        del self.db.queued_writes()[self.mark:]
        super().rollback(begin)


class QueuedWrites:
    """Database mixin: rows a transaction writes only at its commit.

    The outbox queues its event rows here (``crmkit.events.emit``): they are written by
    ``write_queued`` just before COMMIT, so a transaction takes the event feed's turn for the
    last moment of its life instead of from its first event on, and a rolled-back transaction
    or savepoint takes its queued rows with it without ever having sent them.
    """

    # Set by crmkit.events.outbox: write_items(items, db) writes queued items in db's current
    # transaction; commit_items(items, db) writes them and commits, or answers False when it
    # cannot do both at once (the caller then writes them and commits itself).
    write_items = None
    commit_items = None

    def queued_writes(self) -> list | None:
        """The current transaction's queue (None outside a transaction)."""
        state = self._state
        if not state.transactions:
            return None
        top = state.transactions[0]
        queued = getattr(state, "queued", None)
        if queued is None or queued[0] is not top:  # a new transaction: a new queue
            queued = state.queued = (top, [])
        return queued[1]

    def write_queued(self) -> None:
        """Write what the current transaction has queued, now (before reading it back)."""
        queued = getattr(self._state, "queued", None)
        if queued and queued[1]:
            items = list(queued[1])
            queued[1].clear()
            QueuedWrites.write_items(items, self)

    def commit(self):
        queued = getattr(self._state, "queued", None)
        if queued and queued[1]:
            items = list(queued[1])
            queued[1].clear()
            if QueuedWrites.commit_items(items, self):
                return
            QueuedWrites.write_items(items, self)
        super().commit()

    def rollback(self):
        self._state.queued = None
        super().rollback()

    def savepoint(self):
        return _QueueingSavepoint(self)


class SqliteDatabase(QueuedWrites, PooledSqliteDatabase):
    pass


class MemorySqliteDatabase(QueuedWrites, peewee.SqliteDatabase):
    """An in-memory database lives in its one connection: nothing to pool."""


class _Psycopg3Adapter(peewee.Psycopg3Adapter):
    def connect(self, db, **params):
        # peewee's own adapter, opening crmkit's psycopg connection class instead.
        from crmkit.pg_statements import Connection
        if db._encoding:
            params.setdefault("client_encoding", db._encoding)
        if db.database.startswith("postgresql://"):
            params.setdefault("conninfo", db.database)
        else:
            params.setdefault("dbname", db.database)
        return Connection.connect(**params)


class PostgresqlDatabase(QueuedWrites, PooledPostgresqlDatabase):
    psycopg3_adapter = _Psycopg3Adapter


def open_database(url: str, sqlite_busy_timeout_ms: int = 5000,
                  pool_size: int = 20) -> peewee.Database:
    """Create (not connect) the database named by ``url``.

    Connections are pooled: a request still closes its connection on teardown, but that hands it
    back instead of tearing it down. For SQLite this matters more than it looks: closing the last
    connection to a WAL database checkpoints and deletes the -wal/-shm files, which the next
    request then has to recreate (measured: ~560 us of a ~600 us health check).
    """
    if url.startswith("sqlite"):
        pool = {} if ":memory:" in url else {
            "max_connections": None,  # SQLite connections are cheap; the lock is the limit
            "stale_timeout": 300}
        return _connect(
            MemorySqliteDatabase if ":memory:" in url else SqliteDatabase, url,
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": sqlite_busy_timeout_ms,
                "synchronous": "normal",
            },
            timeout=sqlite_busy_timeout_ms / 1000,
            **pool,
            # The pool hands a connection to whichever thread asks next (worker threads, gunicorn
            # threads); only one thread holds it at a time, so sqlite3's same-thread check is moot.
            check_same_thread=False,
        )
    if url.startswith(("postgres://", "postgresql://", "postgres+pool://", "postgresql+pool://")):
        return _connect(PostgresqlDatabase, url, prefer_psycopg3=True,
                        max_connections=pool_size, stale_timeout=300)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")


def _connect(database_class, url: str, **params) -> peewee.Database:
    """What ``playhouse.db_url.connect`` does, with our own database classes."""
    parsed = urlparse(url)
    arguments = db_url.parseresult_to_dict(parsed)
    if not arguments.get("database"):
        raise ValueError(f"{url!r} names no database (SQLite files take three slashes: "
                         "sqlite:///path)")
    return database_class(**{**arguments, **params})


def init_database(url: str, sqlite_busy_timeout_ms: int = 5000,
                  pool_size: int = 20) -> peewee.Database:
    """Point the shared proxy at the database named by ``url`` and return it."""
    release_connections()
    db = open_database(url, sqlite_busy_timeout_ms, pool_size)
    database.initialize(db)
    return db


def release_connections() -> None:
    """Close every connection of the current database, pooled ones included.

    Needed before a fork (a connection must not cross into a child process) and before a test
    drops its schema.
    """
    current = database.obj
    if current is None:
        return
    if not current.is_closed():
        current.close()
    close_all = getattr(current, "close_all", None)
    if close_all is not None:
        close_all()


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def write_transaction():
    """A transaction that will write.

    On SQLite the write lock is taken up front (BEGIN IMMEDIATE) so two writers never deadlock
    upgrading read locks; PostgreSQL handles that with row locks.
    """
    if is_sqlite():
        return database.obj.atomic("IMMEDIATE")
    return database.obj.atomic()


@contextmanager
def connection():
    """Open a connection for the duration of a block unless one is open already."""
    opened = database.connect(reuse_if_open=True)
    try:
        yield database
    finally:
        if opened:
            database.close()


def ping() -> str | None:
    """None when the database answers, else the reason it does not."""
    try:
        with connection():
            database.execute_sql("SELECT 1").fetchone()
        return None
    except Exception as exc:  # any driver error means "unreachable" to a health check
        return f"{type(exc).__name__}: {exc}".strip()
