"""Engine set-up per database and retries of transactions the database asked to repeat."""

import contextvars
import itertools
import random
import time

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from models.base import db

#: True while a request whose method cannot change state is being served
_read_only_request = contextvars.ContextVar("read_only_request", default=False)

# PostgreSQL: serialization_failure, deadlock_detected. Both mean "run it again".
RETRYABLE_PG_CODES = {"40001", "40P01"}

#: the database cannot serve now: locked for longer than the retries wait, unreachable, or
#: no connection free in the pool. A request that meets one answers 503 (nothing was kept).
UNAVAILABLE = (OperationalError, PoolTimeout)


def configure_engine(engine, *, busy_timeout_ms):
    """Make SQLite safe for concurrent writers; PostgreSQL needs nothing extra here."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control from the driver so that we can say BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's lower() knows only ASCII; searches in Cyrillic need the real thing.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # SQLAlchemy drops FOR UPDATE on SQLite, and a deferred transaction that later writes
        # can read stale balances; IMMEDIATE takes the write lock before the first read.
        # Requests that cannot write (GET, HEAD, OPTIONS) read concurrently instead.
        connection.exec_driver_sql("BEGIN" if _read_only_request.get() else "BEGIN IMMEDIATE")


def deferred_begin(view):
    """Begin this view's transaction deferred even for POST: it reads first and rarely writes.

    Use it where holding SQLite's write lock would serialise slow work (a password check at
    login); a rare write that meets a concurrent one is retried like any other conflict.
    """
    view.deferred_begin = True
    return view


def begins_deferred(view):
    return getattr(view, "deferred_begin", False)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def mark_read_only(read_only):
    """Declare whether the current request may write; returns a token for reset_read_only."""
    return _read_only_request.set(read_only)


def reset_read_only(token):
    _read_only_request.reset(token)


def is_retryable(exc):
    """Tell whether the database refused a transaction only because of a concurrent one."""
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    if getattr(exc.orig, "sqlstate", None) in RETRYABLE_PG_CODES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def run_with_retry(fn, *, attempts, base_delay=0.02, max_delay=0.5):
    """Call ``fn`` until it returns without a retryable database error, at most ``attempts`` times.

    ``fn`` must do all its work inside the current transaction: on a retryable error the
    session is rolled back before the next attempt, so nothing of the failed one survives.
    """
    for attempt in itertools.count(1):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt >= attempts or not is_retryable(exc):
                raise
            db.session.rollback()
            delay = min(max_delay, base_delay * 2 ** (attempt - 1))
            time.sleep(delay * (0.5 + random.random()))  # jitter: retries do not collide again
