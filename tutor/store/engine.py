"""Engines for SQLite (embedded default) and PostgreSQL, and the retry that keeps concurrent writers
from losing data when the database is briefly busy."""

from __future__ import annotations

import logging
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs PostgreSQL uses for "try the transaction again": serialization failure, deadlock.
_PG_RETRY_STATES = {"40001", "40P01"}


def make_engine(url: str, *, sqlite_busy_ms: int = 5000, sqlite_synchronous: str = "FULL",
                pool_size: int = 10, max_overflow: int = 40, echo: bool = False) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys, a busy timeout and `BEGIN IMMEDIATE` for
    writes (so two writers never deadlock upgrading read locks); its parent folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            # password hashes and learners' work: readable by the service's user only (SQLite gives
            # the -wal and -shm files the same permissions as the database file)
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow,
                               connect_args={"timeout": sqlite_busy_ms / 1000, "check_same_thread": False})
        _sqlite_setup(engine, sqlite_busy_ms, sqlite_synchronous)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow,
                         pool_pre_ping=True, pool_timeout=120)


def _sqlite_setup(engine: Engine, busy_ms: int, synchronous: str) -> None:
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"sqlite synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so we can say BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("sqlite_write", True) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_retryable(exc: BaseException) -> bool:
    """A transient conflict: SQLite busy/locked, a PostgreSQL serialization failure or deadlock. A lost
    connection is not retried: its COMMIT may have landed, and an event must not be stored twice
    (stale pooled connections are caught before use by pool_pre_ping)."""
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        if "database is locked" in text or "database is busy" in text or "database table is locked" in text:
            return True
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) in _PG_RETRY_STATES


def with_retry(fn: Callable[[], T], *, deadline_s: float = 60.0, first_sleep_s: float = 0.005,
               max_sleep_s: float = 0.5, on_retry: Callable[[BaseException], None] | None = None) -> T:
    """Run `fn` (a whole transaction) again with jittered exponential backoff while it fails with a
    transient conflict, until `deadline_s` has passed; then the last error is raised."""
    start = time.monotonic()
    sleep = first_sleep_s
    attempt = 0
    while True:
        try:
            return fn()
        except DBAPIError as exc:
            attempt += 1
            if not is_retryable(exc) or time.monotonic() - start + sleep > deadline_s:
                raise
            log.debug("store busy (attempt %d), retrying in %.3fs: %s", attempt, sleep, exc.orig)
            if on_retry is not None:
                on_retry(exc)
            time.sleep(sleep * (0.5 + random.random()))
            sleep = min(sleep * 2, max_sleep_s)
