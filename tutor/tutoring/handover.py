"""Sessions handed between app replicas: any replica continues any session.

Each action on a session runs holding the session's database lock (`Store.session_lock`, so two
replicas never interleave one session's actions) and claims the session (`Store.claim_session`, which
notices a replica that died mid-action and marks the session interrupted). When other processes wrote
events since this replica last acted, its in-memory copy is folded again from the store and, when new
code ran elsewhere, its kernel is given back: the next code run rebuilds it by replaying the session's
recorded cells (tutoring.replay), and a replay whose outputs differ is told to the student and flagged.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from tutor.events import Event, TutorMessage
from tutor.tutoring.replay import replay_cells
from tutor.tutoring.state import LiveSession, rebuild

if TYPE_CHECKING:
    from tutor.tutoring.service import TutorService

log = logging.getLogger(__name__)
_MAX_SEEN = 20000
_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(LiveSession) if f.compare)


class Handover:
    def __init__(self, service: TutorService):
        self._service = service
        self._lock = threading.Lock()
        self._seen: dict[int, int] = {}          # session id -> last event seq this replica's copy folds
        self._notices: dict[int, list[str]] = {}  # session id -> replay reports the student has not seen yet

    def loaded(self, session_id: int, event_count: int) -> None:
        """The live copy was just built from the store (or created) at this event count."""
        with self._lock:
            self._seen.pop(session_id, None)
            self._seen[session_id] = event_count
            if len(self._seen) > _MAX_SEEN:   # forgotten: a copy without a count is folded again on use
                for sid in list(self._seen)[: _MAX_SEEN // 2]:
                    del self._seen[sid]

    def forget(self, session_id: int) -> None:
        with self._lock:
            self._seen.pop(session_id, None)
            self._notices.pop(session_id, None)

    @contextmanager
    def action(self, live: LiveSession) -> Iterator[None]:
        """Around one action (the caller holds live.lock): the database lock, the claim, a fresh copy."""
        store = self._service.store
        with store.session_lock(live.id):
            claim = store.claim_session(live.id)
            with self._lock:
                seen = self._seen.get(live.id)
            if seen != claim.event_count:
                self._catch_up(live, seen)
            try:
                yield
            finally:
                try:
                    count = store.release_session(live.id)
                except Exception:  # noqa: BLE001 - the next action re-reads the session anyway
                    log.warning("session %s: could not release the claim", live.id, exc_info=True)
                    count = -1
                self.loaded(live.id, count)

    def _catch_up(self, live: LiveSession, seen: int | None) -> None:
        """Others wrote to the session since this copy was made: fold it again from the store; a kernel
        that missed code run elsewhere is given back, to be rebuilt by replay when next needed."""
        store = self._service.store
        new = store.events(live.id, since_seq=seen or 0, include_private=False)
        if seen is None or any(e.kind == "output" for e in new):
            self._service.kernels.release(live.id)
        if seen is not None and not new:
            return   # only private work or nothing changed the state
        fresh = rebuild(store, store.get_session(live.id), allow_skip=live.allow_skip)
        for name in _STATE_FIELDS:
            setattr(live, name, getattr(fresh, name))
        live.status = fresh.status

    # --- the kernel ----------------------------------------------------------------------------------
    def restore(self, session_id: int, runner: Any) -> None:
        """SessionKernels calls this with a kernel new to this replica: run the session's cells again."""
        service = self._service
        cells = service.store.code_cells(session_id, include_private=False)
        if not cells:
            return
        report = replay_cells(runner, cells, timeout=service.settings.sandbox.cell_timeout_s)
        service.store.append(session_id, report.record(), private=True)
        log.info("session %s: kernel rebuilt from %d cell(s) in %.2f s, %d mismatch(es)", session_id,
                 report.cells, report.seconds, len(report.mismatches))
        if report.mismatches:
            service.store.raise_flag(session_id, "replay_mismatch", source="system", note=report.flag_note())
            with self._lock:
                self._notices.setdefault(session_id, []).append(report.notice())

    def notices(self, live: LiveSession) -> Iterator[Event]:
        """The student is told, in the action that rebuilt the kernel, when the replay did not match."""
        with self._lock:
            pending = self._notices.pop(live.id, [])
        for text in pending:
            yield self._service.emit(live, TutorMessage(text, purpose="notice"))
