"""The store's core: the engine, one transaction per call (retried when the database is busy), and the
identity of this process, which owns the sessions it keeps `active`."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
from contextlib import nullcontext
from typing import Any, Callable, TypeVar

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tutor.store.engine import make_engine, with_retry
from tutor.errors import TutorError
from tutor.store.errors import AlreadyExists, BadInput, StoreUnavailable
from tutor.store.passwords import make_hasher

T = TypeVar("T")
MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER on PostgreSQL
_owners: dict[int, str] = {}


def process_owner() -> str:
    """`host:pid:token` for this process; a forked child gets its own (the token tells a restarted
    process that happens to reuse a pid from the one that died)."""
    pid = os.getpid()
    if pid not in _owners:
        _owners[pid] = f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}"
    return _owners[pid]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class _Pending:
    """One write waiting to be committed by whichever writer leads the next batch."""
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[Session], Any]):
        self.fn, self.done, self.result, self.error = fn, False, None, None


def _reraise(exc: BaseException) -> Any:
    raise exc


class StoreBase:
    engine: Engine

    def __init__(self, url: str, *, hasher: PasswordHasher | None = None, sqlite_busy_ms: int = 5000,
                 sqlite_synchronous: str = "FULL", retry_deadline_s: float = 60.0, pool_size: int = 10,
                 max_overflow: int = 40, echo: bool = False):
        self.engine = make_engine(url, sqlite_busy_ms=sqlite_busy_ms, sqlite_synchronous=sqlite_synchronous,
                                  pool_size=pool_size, max_overflow=max_overflow, echo=echo)
        self.hasher = hasher or make_hasher()
        self.retry_deadline_s = retry_deadline_s
        self.retries = 0  # transactions re-run because the database was busy (health page, benchmarks)
        # SQLite has one writer at a time anyway: queueing this process's writers on a lock is fair and
        # quick, where SQLite's busy handler sleeps in growing steps (p95 of seconds with 32 writers).
        # Other processes are still held off by the busy timeout and the retry.
        self._write_lock: Any = threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        self._pending: list[_Pending] = []
        self._pending_lock = threading.Lock()
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        # reads begin DEFERRED on SQLite so they never wait for or block a writer (WAL snapshots)
        self._reader = sessionmaker(self.engine.execution_options(sqlite_write=False), expire_on_commit=False)

    @property
    def owner(self) -> str:
        return process_owner()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The database URL with any password masked (safe to show on the admin page)."""
        return self.engine.url.render_as_string(hide_password=True)

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in one committed transaction, again from the start while the database is busy."""
        def attempt() -> T:
            with self._write_lock, self._writer() as session, session.begin():
                return fn(session)
        return self._guard(lambda: with_retry(attempt, deadline_s=self.retry_deadline_s, on_retry=self._count_retry))

    def _count_retry(self, _exc: BaseException) -> None:
        self.retries += 1  # a lost increment under a race only blurs a statistic

    def _read(self, fn: Callable[[Session], T]) -> T:
        def attempt() -> T:
            with self._reader() as session, session.begin():
                return fn(session)
        return self._guard(lambda: with_retry(attempt, deadline_s=self.retry_deadline_s, on_retry=self._count_retry))

    @staticmethod
    def _guard(fn: Callable[[], T]) -> T:
        try:
            return fn()
        except IntegrityError as exc:
            text = str(exc.orig).lower()
            if "unique" in text or "duplicate" in text:
                raise AlreadyExists("that already exists") from exc
            raise
        except (DataError, OverflowError) as exc:
            # e.g. an id beyond the integer range, a name longer than its column (PostgreSQL checks, SQLite not)
            raise BadInput("a value is out of range or too long for the database") from exc
        except OperationalError as exc:
            raise StoreUnavailable(f"the database is unavailable: {str(exc.orig).splitlines()[0]}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable("lost the connection to the database") from exc
            raise

    def _combined_write(self, fn: Callable[[Session], T]) -> T:
        """Like `_write`, for small independent writes (event appends) on SQLite: writers that arrive
        while another commits are committed together in the next transaction, each in its own
        savepoint, so 32 writers share one fsync instead of queueing for 32 ("flat combining").
        Each caller still returns only after its own write is committed. Elsewhere: `_write`."""
        if self.engine.dialect.name != "sqlite":
            return self._write(fn)
        item = _Pending(fn)
        with self._pending_lock:
            self._pending.append(item)
        with self._write_lock:
            if not item.done:  # nobody took it yet: lead a batch of everything waiting
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._commit_batch(batch)
        if not item.done:
            raise StoreUnavailable("the write was not committed")
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[return-value]

    def _commit_batch(self, batch: list["_Pending"]) -> None:
        def attempt() -> list[tuple[Any, BaseException | None]]:
            outcomes: list[tuple[Any, BaseException | None]] = []
            with self._writer() as session, session.begin():
                for item in batch:
                    try:
                        with session.begin_nested():
                            outcomes.append((item.fn(session), None))
                    except (TutorError, IntegrityError, DataError, OverflowError) as exc:
                        outcomes.append((None, exc))  # this write alone is refused; the others go on
            return outcomes
        try:
            outcomes = self._guard(lambda: with_retry(attempt, deadline_s=self.retry_deadline_s,
                                                      on_retry=self._count_retry))
        except BaseException as exc:
            outcomes = [(None, exc)] * len(batch)
        for item, (result, error) in zip(batch, outcomes):
            if error is not None and not isinstance(error, TutorError):
                try:
                    self._guard(lambda error=error: _reraise(error))
                except BaseException as translated:
                    error = translated
            item.result, item.error, item.done = result, error, True

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
