"""Which app replica is acting on a session: one action at a time across processes, and a replica
that died mid-action noticed by the next one.

While an action runs, its process holds the session's PostgreSQL advisory lock (on a connection of its
own, so the lock goes with the process if it is killed) and the session row names it as `owner`; the
owner is cleared when the action ends. So a replica that gets the lock and still finds another owner
knows that owner's action never finished: the session is marked interrupted there and then (event +
flag), and the replica carries on. SQLite serves one process, whose in-memory lock already serialises
a session's actions; there the lock is a no-op and the owner bookkeeping is the same.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool
from sqlalchemy.orm import Session

from tutor.errors import TutorError
from tutor.store.base import StoreBase, utcnow
from tutor.store.models import Flag, TutorSession
from tutor.store.sessions import insert_event

# pg_try_advisory_lock(int, int): the first key says "a tutoring session" so other advisory locks on
# the same database (none today) cannot collide with session ids
_LOCK_CLASS = 0x4D54   # "MT"


class SessionBusy(TutorError):
    """Another replica is still working on this session."""
    code = "busy"
    status = 409


@dataclass(frozen=True)
class Claim:
    status: str                # the session's status once claimed (interrupted when a dead action was found)
    event_count: int           # the session's last event seq: a replica whose copy is older must rebuild it
    interrupted_owner: str | None = None   # the process whose action died mid-way, if one did


class ClaimsMixin(StoreBase):
    lock_wait_s: float = 15.0   # settings.store.lock_wait_s
    _lock_engine: Engine | None = None

    def _locks(self) -> Engine:
        # A connection of its own per running action, outside the store's pool: actions waiting in
        # line for the model hold their lock meanwhile, and must not starve the pool their own event
        # writes need (that would deadlock a busy replica until the pool timeout).
        if self._lock_engine is None:
            self._lock_engine = create_engine(self.engine.url, poolclass=NullPool)
        return self._lock_engine

    @contextmanager
    def session_lock(self, session_id: int, *, wait_s: float | None = None) -> Iterator[None]:
        """Hold the session's lock for the block; SessionBusy when another process keeps it `wait_s`."""
        if self.dialect != "postgresql":
            yield
            return
        wait = self.lock_wait_s if wait_s is None else wait_s
        conn = self._locks().connect()
        held = False
        try:
            deadline, pause = time.monotonic() + wait, 0.02
            while True:
                held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:c, :k)"),
                                         {"c": _LOCK_CLASS, "k": session_id}).scalar())
                conn.commit()   # an advisory lock outlives the transaction; an idle-in-transaction one must not
                if held:
                    break
                if time.monotonic() >= deadline:
                    raise SessionBusy("The tutor is still working on your previous request in this session.")
                time.sleep(pause)
                pause = min(pause * 2, 0.25)
            yield
        finally:
            try:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:c, :k)"), {"c": _LOCK_CLASS, "k": session_id})
                    conn.commit()
            except Exception:  # noqa: BLE001 - a connection we cannot unlock on is thrown away, lock and all
                conn.invalidate()
            conn.close()

    def claim_session(self, session_id: int) -> Claim:
        """Call holding session_lock: this process now owns the session's action. A different owner
        left behind means that owner's action died part-way: marked interrupted (event + flag)."""
        def tx(s: Session) -> Claim:
            row = s.get(TutorSession, session_id)
            if row is None:
                from tutor.store.errors import NotFound
                raise NotFound(f"no session with id {session_id}")
            dead = row.owner if row.owner and row.owner != self.owner and row.status == "active" else None
            if dead is not None:
                row.status, row.owner = "interrupted", None
                s.flush()
                insert_event(s, session_id, "interrupted", {"kind": "interrupted", "previous_owner": dead})
                s.add(Flag(session_id=session_id, source="system", reason="interrupted", created_at=utcnow(),
                           note="The app replica serving this session stopped in the middle of an action; "
                                "another replica took the session over and marked it interrupted."))
            elif row.status == "active":
                row.owner = self.owner
            s.flush()
            s.refresh(row)
            return Claim(row.status, row.event_count, dead)
        return self._write(tx)

    def release_session(self, session_id: int) -> int:
        """The action ended (call before letting go of session_lock); returns the last event seq."""
        def tx(s: Session) -> int:
            row = s.get(TutorSession, session_id)
            if row is None:
                return 0
            if row.owner == self.owner:
                row.owner = None
            return row.event_count
        return self._write(tx)
