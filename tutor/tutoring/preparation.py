"""Preparing a tutoring session's private key: reuse a class's confirmed key or solve privately in
fresh kernels, record the key and the flags a teacher needs, tag the problem's skills.

The hidden turns run in kernels nothing else has touched (`SessionKernels.fresh`): one for the solve
and its steps, another for the program that checks the answer. Code from an earlier, stopped
attempt, from hint checks in the session's own kernel, or from the solve itself cannot make that
check print True.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator

from tutor.errors import SandboxUnavailable, TutorError
from tutor.events import Event, KeyStatus
from tutor.solver.prompt import build_prompt
from tutor.tutoring.key import AnswerKey, KeyStep, prepare_key
from tutor.tutoring.key_reference import reference_solution_key
from tutor.tutoring.skills import tag_problem
from tutor.tutoring.state import LiveSession, key_from_record, key_steps_for_store

if TYPE_CHECKING:
    from tutor.tutoring.service import TutorService

log = logging.getLogger(__name__)

_STATUS_WORDS = {"verified": "I've worked it out and checked my answer.",
                 "unverified": "I've worked it out, but couldn't double-check my answer by computation.",
                 "unavailable": "I couldn't work out a reliable answer; I can still check your steps."}


def prepare(svc: "TutorService", live: LiveSession, reference: str | None,
            opening: Callable[[], Event] | None = None, warm: Callable[[], None] | None = None) -> Iterator[Event]:
    """Solve privately, record the key (and flags for the teacher), tag skills. A stop half-way keeps
    nothing: the key stays pending and is prepared when the student continues. `opening` (a new
    session's first message) is said as soon as the key's answer and steps are known, while its
    confirmation still runs; after a key that needs no confirming, it follows the key's status. `warm`
    then writes ahead what the student will likely ask for first (the first hint), also meanwhile."""
    yield KeyStatus("preparing", message="Working out the problem…")
    # a teacher's worked solution is the key (its values recomputed); the model solves only without one
    key = reference_solution_key(svc.store, live.problem_id, live.question, svc.settings.grading.timeout_s) \
        or reusable_key(svc.store, live, reference)
    opened = False
    if key is None:
        solving = _Solving(svc, live, reference)
        try:
            early = solving.solved()
            if early is not None:
                live.key = early   # not gradable (`confirming`): check_answer says "unchecked" on it
                yield KeyStatus("preparing", len(early.steps), "Checking the answer two ways…")
                if opening is not None:
                    with solving.writes:   # the hidden turns record their events meanwhile
                        event = svc.emit(live, opening())
                    opened = True
                    yield event
                    if warm is not None:
                        warm()
            key = solving.result()
        finally:
            solving.close()
            live.key = None   # the key as saved replaces the early one; a stopped one keeps nothing
        if key is None:
            yield svc.emit(live, KeyStatus("unavailable", 0, "Stopped. I'll work the problem out when you continue."))
            return
    store = svc.store
    saved = store.save_solution_key(session_id=live.id, problem_id=live.problem_id, answer=key.answer,
                                    steps=key_steps_for_store(key), verified=key.verified,
                                    verification="\n".join((key.verification,) + key.problems),
                                    source=key.source, model=getattr(svc.backend_or_none(), "name", None),
                                    model_answer=key.model_answer, reference_answer=key.reference_answer,
                                    disagreement=key.disagreement)
    live.key = key_from_record(saved)   # the key as the store holds it, the same one a rebuild loads
    if key.solution_text:
        store.append(live.id, {"kind": "key_work", "text": key.solution_text}, private=True)
    if key.disagreement:
        store.raise_flag(live.id, "key_disagreement", source="system",
                         note="The model's answer differs from the teacher's reference answer "
                              "(the reference is used); please check the problem and the reference.")
    elif key.status != "verified":
        store.raise_flag(live.id, "key_unverified", source="system",
                         note=f"The solution key could not be confirmed by executed code: {key.verification}")
    store.set_progress(live.id, current_step=1, hint_level=0)
    if not live.skills:
        live.skills = tag_problem(live.question, ask_model=_tagger(svc, live))
        try:
            store.set_problem_skills(live.problem_id, live.skills)
        except TutorError:
            log.warning("could not store skills for problem %s", live.problem_id, exc_info=True)
    yield svc.emit(live, KeyStatus(key.status, len(key.steps), _STATUS_WORDS[key.status]))
    if opening is not None and not opened:
        yield svc.emit(live, opening())


class _Solving:
    """The model's key, prepared on a thread of its own so the session's stream can say things while
    the key is confirmed. Its private events and the stream's emits are written one at a time (`writes`)."""

    def __init__(self, svc: "TutorService", live: LiveSession, reference: str | None):
        self.svc, self.live, self.reference = svc, live, reference
        self.writes = threading.Lock()
        self._early: "queue.Queue[AnswerKey | None]" = queue.Queue()
        self._out: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._work, name=f"key-{live.id}", daemon=True)
        self._thread.start()

    def solved(self) -> AnswerKey | None:
        """The key before its confirmation; None when there is no such stage (no answer, the model
        down, a reference that needs no confirming) or the action was stopped."""
        early = self._early.get()
        return None if self.live.cancel.is_set() else early

    def result(self) -> AnswerKey | None:
        """The finished key; None when the student stopped it."""
        self._thread.join()
        if "error" in self._out:
            raise self._out["error"]
        return None if self.live.cancel.is_set() else self._out.get("key")

    def close(self) -> None:
        if self._thread.is_alive():   # the stream was closed early (the page went away): end the hidden work
            self.live.cancel.set()
            self._thread.join()

    def _record(self, ev: Event) -> None:
        with self.writes:
            self.svc.store.append(self.live.id, ev, private=True)

    def _work(self) -> None:
        try:
            self._out["key"] = _solve(self.svc, self.live, self.reference, self._record, self._early.put)
        except BaseException as exc:  # noqa: BLE001 - handed to the stream's thread, which raises it
            self._out["error"] = exc
        finally:
            self._early.put(None)


def _solve(svc: "TutorService", live: LiveSession, reference: str | None, record: Callable[[Event], None],
           on_solved: Callable[[AnswerKey], None]) -> AnswerKey:
    """The key from the model, in fresh kernels; from the reference alone when the model is down."""
    try:
        backend = svc.backend
    except TutorError as exc:
        if reference:
            return AnswerKey(reference, (KeyStep(1, "Work out the answer to the problem", reference),), False,
                             f"the model is unavailable ({exc.message}); the teacher's reference answer is used",
                             "reference", reference_answer=reference)
        return AnswerKey(None, (), False, f"the model is unavailable ({exc.message})", "none")
    with contextlib.ExitStack() as kernels:
        try:
            runner = kernels.enter_context(svc.kernels.fresh(live.id, "key"))
        except SandboxUnavailable as exc:
            log.warning("session %s: key prepared without a kernel: %s", live.id, exc)
            runner = None
        return prepare_key(live.question, backend=backend, runner=runner, settings=svc.settings,
                           reference=reference, cancel=live.cancel, on_event=record, on_solved=on_solved,
                           check_kernel=lambda: svc.kernels.fresh(live.id, "check"))


def reusable_key(store: Any, live: LiveSession, reference: str | None) -> AnswerKey | None:
    """A verified key another session already made for this problem (a class working the same
    assigned problem solves it once), as long as the teacher's reference has not changed since."""
    if live.problem_id is None:
        return None
    rec = store.solution_key(problem_id=live.problem_id)
    if rec is None or not rec.answer or not rec.verified or rec.disagreement:
        return None
    if (rec.reference_answer or None) != (reference.strip() if reference and reference.strip() else None):
        return None
    key = key_from_record(rec)
    return dataclasses.replace(key, verification=f"{key.verification} (reused from an earlier session)")


def _tagger(svc: "TutorService", live: LiveSession) -> Callable[[str], str] | None:
    if svc.settings.tutoring.skill_tagging != "model" or svc.backend_or_none() is None:
        return None
    ask = svc.ask_model(live)
    return lambda q: ask(build_prompt(q, mode="none"), 16)
