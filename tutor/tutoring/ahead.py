"""The first hint, written ahead while a new session's key is being confirmed.

The key's answer and steps are final before its confirmation ends (confirming changes neither), and
the hint guard checks against them, so rung 1 of step 1 can be written then: the first hint a student
asks for needs no model call. A hint written ahead is used only for a request with the same basis
(nothing it was written from has changed since), and at most once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from tutor.tutoring.state import LiveSession
from tutor.tutoring.stopping import ActionStopped

log = logging.getLogger(__name__)

Write = Callable[[LiveSession, Any, Any, int], Any]   # (live, key, step, level) -> HintResult


def basis(live: LiveSession, key: Any, step: Any, level: int) -> tuple:
    """Everything a hint is written from."""
    return (key.answer, step, level, tuple(live.hints.get(step.index, [])), tuple(live.work), tuple(live.attempts),
            live.solved)


class HintsAhead:
    def __init__(self, write: Write):
        self._write = write
        self._lock = threading.Lock()
        self._ready: dict[int, tuple[tuple, Any]] = {}   # session -> (basis, HintResult)

    def write_first(self, live: LiveSession) -> None:
        key = live.key
        if key is None or not key.steps:
            return
        try:
            result = self._write(live, key, key.step(1), 1)
        except Exception:  # noqa: BLE001 - only a head start: asked for, the hint is written then
            log.warning("session %s: first hint not written ahead", live.id, exc_info=True)
            return
        with self._lock:
            self._ready[live.id] = (basis(live, key, key.step(1), 1), result)

    def hint(self, live: LiveSession, key: Any, step: Any, level: int) -> Any:
        """The hint for this request: the one written ahead when it fits, else written now."""
        with self._lock:
            ready = self._ready.pop(live.id, None)
        if ready is not None and ready[0] == basis(live, key, step, level):
            if live.cancel.is_set():   # stopped before it was shown: shown nothing, it waits for the next ask
                with self._lock:
                    self._ready.setdefault(live.id, ready)
                raise ActionStopped
            return ready[1]
        return self._write(live, key, step, level)

    def forget(self, session_id: int) -> None:
        with self._lock:
            self._ready.pop(session_id, None)
