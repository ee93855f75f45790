"""One student action (new problem, message, hint, submission) run as the session's only one.

Every action's events go through `run_action`: the action gets its own Stop flag at the call
(`tutoring.stopping`), waits briefly for the session's in-process lock, then holds the session across
replicas (`tutoring.handover`); a session whose key was never prepared has it prepared first; a
failure becomes an `ErrorEvent`, recorded while the session is still this action's.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Iterator

from tutor.errors import TutorError
from tutor.events import ErrorEvent, Event
from tutor.tutoring.preparation import prepare
from tutor.tutoring.state import LiveSession
from tutor.tutoring.stopping import stoppable

if TYPE_CHECKING:
    from tutor.tutoring.service import TutorService

log = logging.getLogger(__name__)


def run_action(svc: "TutorService", live: LiveSession, body: Iterator[Event], key_first: bool = True) -> Iterator[Event]:
    """The action's events; `key_first`: prepare a pending key before the body (not for a new session,
    whose body prepares it itself)."""
    return stoppable(live.stops, lambda stop: _run(svc, live, stop, body, key_first), lambda e: svc.emit(live, e))


def _run(svc: "TutorService", live: LiveSession, stop: threading.Event, body: Iterator[Event],
         key_first: bool) -> Iterator[Event]:
    if not live.lock.acquire(timeout=1.0):
        yield ErrorEvent("busy", "The tutor is still working on your previous request in this session.")
        return
    live.cancel = stop   # what the model and the kernel are handed while this action runs
    try:
        with svc.handover.action(live):   # one action per session across replicas; a fresh copy
            yield from _guarded(svc, live, body, key_first)
    except TutorError as exc:   # busy (another replica's action): as in-process, nothing is recorded
        yield ErrorEvent(exc.code, exc.message)
    finally:
        live.lock.release()


def _guarded(svc: "TutorService", live: LiveSession, body: Iterator[Event], key_first: bool) -> Iterator[Event]:
    try:
        if live.status == "interrupted":
            svc.store.resume_session(live.id)
            live.status = "active"
        if key_first and live.key_pending:
            problem = svc.store.get_problem(live.problem_id) if live.problem_id else None
            yield from prepare(svc, live, problem.reference_answer if problem else None)
        yield from body
        yield from svc.handover.notices(live)
    except TutorError as exc:   # recorded while the session is still this action's
        yield _safe_error(svc, live, ErrorEvent(exc.code, exc.message))
    except Exception as exc:  # noqa: BLE001 - one place turns a bug into a message, not a broken page
        log.exception("session %s failed", live.id)
        yield _safe_error(svc, live, ErrorEvent("internal_error", f"Something went wrong ({type(exc).__name__}); "
                                                                  "your work so far is saved."))


def _safe_error(svc: "TutorService", live: LiveSession, event: ErrorEvent) -> ErrorEvent:
    try:
        svc.store.append(live.id, event)
    except Exception:  # noqa: BLE001 - the store itself may be what failed
        log.warning("could not record error event for session %s", live.id, exc_info=True)
    return event
