"""What the tutoring facade hands out (plain, student-safe dataclasses), and how a session's state is
rebuilt from the store. Nothing here carries the hidden key to a student."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tutor.errors import BadInput, InputTooLong
from tutor.tutoring.hints import BOTTOM_OUT
from tutor.tutoring.key import KeyStep, SolutionKey
from tutor.tutoring.session import LiveSession


# --- what the facade returns (plain, student-safe) ---------------------------------------------------

@dataclass(frozen=True)
class SessionSummary:
    id: int
    title: str
    mode: str
    status: str            # active | finished | interrupted
    solved: bool
    problem_id: int | None
    started_at: dt.datetime
    last_activity_at: dt.datetime

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"


@dataclass(frozen=True)
class SessionView:
    """One session as its student may see it: never the hidden key, its steps or the private work."""
    id: int
    title: str
    question: str
    mode: str
    status: str
    interrupted: bool
    solved: bool
    step: int              # current step, 1-based (0 when there is no key)
    steps: int             # steps in the key
    hint_level: int        # highest rung shown on the current step (0..4)
    key_status: str        # verified | unverified | unavailable | preparing | none (solve mode)
    can_skip: bool         # may jump straight to the bottom-out hint
    events: list[dict[str, Any]] = field(default_factory=list)   # the transcript, in order

    @property
    def current_step(self) -> int:
        return self.step


@dataclass(frozen=True)
class ProblemView:
    id: int
    text: str
    skills: list[str]
    problem_set_id: int | None
    position: int
    solved: bool           # this learner has solved it in some session
    sessions: int          # this learner's sessions on it


def check_text(text: Any, what: str, limit: int) -> str:
    if not isinstance(text, str):
        raise BadInput(f"the {what} must be text")
    text = text.replace("\x00", "").strip()
    if not text:
        raise BadInput(f"the {what} is empty")
    if len(text) > limit:
        raise InputTooLong(f"the {what} is {len(text)} characters long; the limit is {limit}")
    return text


def key_steps_for_store(key: SolutionKey) -> list[dict[str, Any]]:
    return [{"index": s.index, "text": s.description, "result": s.result, "computed": s.computed,
             "expression": s.expression} for s in key.steps]


def key_from_record(rec: Any) -> SolutionKey:
    steps = tuple(KeyStep(int(d.get("index", i + 1)), str(d.get("text", d.get("description", ""))),
                          str(d.get("result", "")), bool(d.get("computed", False)), str(d.get("expression", "")))
                  for i, d in enumerate(rec.steps or []))
    if not steps and rec.answer:
        steps = (KeyStep(1, "Work out the answer to the problem", rec.answer),)
    return SolutionKey(rec.answer, steps, bool(rec.verified), rec.verification or "", rec.source or "model",
                       model_answer=rec.model_answer, reference_answer=rec.reference_answer,
                       disagreement=bool(rec.disagreement))


def load_live(store: Any, rec: Any, *, allow_skip: bool) -> LiveSession:
    """Rebuild a session's in-memory state from the store (after a restart, or once it was forgotten)."""
    problem = store.get_problem(rec.problem_id) if rec.problem_id is not None else None
    live = LiveSession(id=rec.id, user_id=rec.user_id, mode=rec.mode, question=problem.text if problem else rec.title,
                       problem_id=rec.problem_id, class_id=rec.class_id,
                       skills=list(problem.skills or []) if problem else [], allow_skip=allow_skip,
                       status=rec.status, solved=rec.solved)
    key_rec = store.solution_key(session_id=rec.id)
    if key_rec is not None:
        live.key = key_from_record(key_rec)
    elif rec.mode == "tutor":
        live.key_pending = True
    live.step = max(1, rec.current_step)
    live.level = rec.hint_level
    for h in store.hints(rec.id):
        live.hints.setdefault(h.step, []).append(h.text)
        live.observed.add(h.step)
        if live.key is not None and h.level >= BOTTOM_OUT and h.step >= live.steps_total:
            live.revealed = True
    for a in store.attempts(rec.id):
        if a.step is not None and a.verdict != "unreadable":
            live.observed.add(a.step)
        if a.kind == "step" and a.verdict == "valid":
            live.work.extend(ln.strip() for ln in a.input.splitlines() if ln.strip())
    if rec.mode == "solve":
        live.chat.append({"role": "user", "content": live.question})
    for ev in store.events(rec.id, include_private=False):
        if ev.kind == "message" and ev.data.get("role") == "student":
            live.history.append(("Student", ev.text or ""))
            live.chat.append({"role": "user", "content": ev.text or ""})
        elif ev.kind == "tutor_message":
            live.history.append(("Tutor", ev.text or ""))
        elif ev.kind == "done" and rec.mode == "solve":
            text = (ev.data.get("extra") or {}).get("text")
            if isinstance(text, str) and text.strip():
                live.chat.append({"role": "assistant", "content": text})
    return live
