"""A tutoring session's state as a fold over its student-visible events.

`apply(state, event)` is the only place the state changes: the service applies each event as it
records it, and `rebuild` folds the stored events after a restart, so a session reopened from the
store is the session the student left (tests compare the two after every scenario). Events carry
what their effect needs (a hint's step and rung, an attempt's accepted lines and the step it moved
on to), so folding needs no model, kernel or grader.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from tutor.events import Event
from tutor.practice.evidence import is_evidence
from tutor.tutoring.key import AnswerKey, KeyStep
from tutor.tutoring.stopping import Stops

# Verdicts that are a mathematical attempt (a first one on a step is a learner-model observation).
_RIGHT = frozenset({"correct", "valid"})
_WRONG = frozenset({"incorrect", "invalid"})


@dataclass
class LiveSession:
    """One session as the service holds it in memory. Fields compared by `==` are the folded state;
    the rest is the record's or the process's (locks, the store's status, the class policy)."""
    id: int
    user_id: int
    mode: str
    question: str
    problem_id: int | None = None
    class_id: int | None = None
    skills: list[str] = field(default_factory=list)
    key: AnswerKey | None = None      # as the store holds it (set when saved, loaded when rebuilt)
    step: int = 1                       # current step, 1-based
    level: int = 0                      # highest rung shown on the current step
    hints: dict[int, list[str]] = field(default_factory=dict)   # step -> hint texts shown
    observed: set[int] = field(default_factory=set)             # steps whose first attempt counted for BKT
    work: list[str] = field(default_factory=list)               # the student's accepted lines
    history: list[tuple[str, str]] = field(default_factory=list)  # ("Student"|"Tutor", text)
    chat: list[dict[str, str]] = field(default_factory=list)      # solve mode: the model conversation
    attempts: list[tuple[str, str, str]] = field(default_factory=list)   # (answer|step, input, verdict)
    solved: bool = False
    revealed: bool = False              # bottom-out of the last step shown
    bottomed_out: bool = False          # some step's bottom-out was shown: answers after it are no evidence
    reached_end: bool = False           # the work reached the final result: the next move is to submit it
    allow_skip: bool = field(default=False, compare=False)
    status: str = field(default="active", compare=False)   # the store's status (interrupted ones resume on use)
    # a plain Lock: a web server may resume a stream on another thread than the one that started it
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    cancel: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)  # the running action's
    stops: Stops = field(default_factory=Stops, compare=False, repr=False)   # every action asked for (tutoring.stopping)

    @property
    def steps_total(self) -> int:
        return len(self.key.steps) if self.key else 0

    @property
    def current(self) -> KeyStep | None:
        if not self.key or not self.key.steps:
            return None
        return self.key.step(min(self.step, self.steps_total))

    @property
    def key_pending(self) -> bool:
        """Tutoring mode whose key was never prepared (stopped, or the process died first)."""
        return self.mode == "tutor" and self.key is None

    @property
    def answer_open(self) -> bool:
        """May the final answer now be said? Only after solving it or the last bottom-out."""
        return self.solved or self.revealed


# --- the reducer -------------------------------------------------------------------------------------

def apply(state: LiveSession, event: Event | Mapping[str, Any]) -> LiveSession:
    """The state after `event` (changed in place and returned). Unknown kinds change nothing."""
    data = event.to_dict() if isinstance(event, Event) else event
    handler = _HANDLERS.get(str(data.get("kind")))
    if handler is not None:
        handler(state, data)
    return state


def _started(s: LiveSession, d: Mapping[str, Any]) -> None:
    if s.mode == "solve" and not d.get("resumed"):
        s.chat.append({"role": "user", "content": s.question})


def _message(s: LiveSession, d: Mapping[str, Any]) -> None:
    if d.get("role", "student") != "student":
        return
    text = str(d.get("text") or "")
    s.history.append(("Student", text))
    if s.mode == "solve":
        # kept even when the model's turn then fails: the student sees it in the transcript, so does the model
        s.chat.append({"role": "user", "content": text})


def _tutor_message(s: LiveSession, d: Mapping[str, Any]) -> None:
    s.history.append(("Tutor", str(d.get("text") or "")))


def _done(s: LiveSession, d: Mapping[str, Any]) -> None:
    text = (d.get("extra") or {}).get("text")
    if s.mode == "solve" and isinstance(text, str) and text.strip():
        s.chat.append({"role": "assistant", "content": text})


def _hint(s: LiveSession, d: Mapping[str, Any]) -> None:
    step, level, steps = int(d["step"]), int(d["level"]), int(d.get("steps") or 0)
    s.hints.setdefault(step, []).append(str(d.get("text") or ""))
    if not s.solved:
        s.observed.add(step)
    s.level = level
    if d.get("bottom_out"):
        s.bottomed_out = True
        if step >= steps:
            s.revealed = True
        else:   # the worked step is done: the ladder starts again on the next step
            s.step, s.level = step + 1, 0


def _attempt(s: LiveSession, d: Mapping[str, Any]) -> None:
    verdict = d.get("verdict")
    if verdict in _RIGHT | _WRONG and not s.solved and d.get("step") and \
            is_evidence(s, str(d.get("attempt_kind") or "answer"), str(d.get("input") or "")):
        s.observed.add(int(d["step"]))   # (a trivial step leaves the step's first attempt still to come)
    s.attempts.append((str(d.get("attempt_kind") or "answer"), str(d.get("input") or ""), str(verdict or "")))
    if d.get("attempt_kind") == "step":
        s.work.extend(accepted_lines(str(d.get("input") or ""), verdict, d.get("first_bad_line")))
    if d.get("reached_end"):
        s.reached_end = True
    if d.get("solved"):
        s.solved = True
    if d.get("advanced_to"):
        s.step, s.level = int(d["advanced_to"]), 0


_HANDLERS = {"session_started": _started, "message": _message, "tutor_message": _tutor_message, "done": _done,
             "hint": _hint, "attempt": _attempt}


def accepted_lines(text: str, verdict: Any, first_bad_line: Any) -> list[str]:
    """The lines of a step submission that join the student's work: all of a valid one, those before
    the first bad line of an invalid one, none of an unreadable one. Split as the step checker split it."""
    from tutor.checking.steps import split_lines

    lines = split_lines(text)
    if verdict == "valid":
        return lines
    if verdict == "invalid" and isinstance(first_bad_line, int):
        return lines[:max(0, first_bad_line - 1)]
    return []


def first_attempt(state: LiveSession, event: Event | Mapping[str, Any]) -> bool | None:
    """Before `event` is applied: is it the first attempt at its step (a BKT observation), and was it
    right? None when it is no observation. Asking for a hint first counts as a wrong first attempt."""
    data = event.to_dict() if isinstance(event, Event) else event
    if state.solved or data.get("kind") not in ("hint", "attempt") or data.get("step") in state.observed:
        return None
    if data["kind"] == "hint":
        return False
    if not is_evidence(state, str(data.get("attempt_kind") or "answer"), str(data.get("input") or "")):
        return None   # a trivial step, or an answer after a bottom-out hint: no evidence either way
    verdict = data.get("verdict")
    return True if verdict in _RIGHT else False if verdict in _WRONG else None


# --- rebuilding from the store -------------------------------------------------------------------------

def key_steps_for_store(key: AnswerKey) -> list[dict[str, Any]]:
    return [{"index": s.index, "text": s.description, "result": s.result, "computed": s.computed,
             "expression": s.expression} for s in key.steps]


def key_from_record(rec: Any) -> AnswerKey:
    steps = tuple(KeyStep(int(d.get("index", i + 1)), str(d.get("text", d.get("description", ""))),
                          str(d.get("result", "")), bool(d.get("computed", False)), str(d.get("expression", "")))
                  for i, d in enumerate(rec.steps or []))
    if not steps and rec.answer:
        steps = (KeyStep(1, "Work out the answer to the problem", rec.answer),)
    return AnswerKey(rec.answer, steps, bool(rec.verified), rec.verification or "", rec.source or "model",
                       model_answer=rec.model_answer, reference_answer=rec.reference_answer,
                       disagreement=bool(rec.disagreement))


def rebuild(store: Any, rec: Any, *, allow_skip: bool) -> LiveSession:
    """The session as its stored events leave it (after a restart, or once it was forgotten)."""
    problem = store.get_problem(rec.problem_id) if rec.problem_id is not None else None
    state = LiveSession(id=rec.id, user_id=rec.user_id, mode=rec.mode,
                        question=problem.text if problem else rec.title, problem_id=rec.problem_id,
                        class_id=rec.class_id, skills=list(problem.skills or []) if problem else [],
                        allow_skip=allow_skip, status=rec.status)
    key_rec = store.solution_key(session_id=rec.id)
    if key_rec is not None:
        state.key = key_from_record(key_rec)
    for ev in store.events(rec.id, include_private=False):
        apply(state, ev.data)
    return state
