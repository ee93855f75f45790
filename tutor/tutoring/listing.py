"""What the tutoring facade lists and opens for a student: plain, student-safe dataclasses built from
the store and the live session. Nothing here carries the hidden key to a student."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any



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


def session_summaries(store: Any, user_id: int) -> list[SessionSummary]:
    return [SessionSummary(r.id, r.title, r.mode, r.status, r.solved, r.problem_id, r.started_at,
                           r.last_activity_at) for r in store.list_sessions(user_id)]


def session_view(store: Any, live: Any, rec: Any) -> SessionView:
    """`live` is the session's state (tutor.tutoring.state.LiveSession), `rec` its store record."""
    events = [{"seq": e.seq, "at": e.at.isoformat(), **e.data, "kind": e.kind}
              for e in store.events(rec.id, include_private=False)]
    key_status = "none" if live.mode == "solve" else (
        "preparing" if live.key_pending or (live.key is None and live.lock.locked()) else
        (live.key.status if live.key else "unavailable"))
    return SessionView(id=rec.id, title=rec.title, question=live.question, mode=rec.mode, status=rec.status,
                       interrupted=rec.status == "interrupted", solved=rec.solved,
                       step=live.step if live.key else 0, steps=live.steps_total, hint_level=live.level,
                       key_status=key_status, can_skip=live.allow_skip, events=events)


def problem_views(store: Any, user_id: int) -> list[ProblemView]:
    sessions = store.list_sessions(user_id)
    out = []
    for p in store.assigned_problems(user_id):
        mine = [s for s in sessions if s.problem_id == p.id]
        out.append(ProblemView(p.id, p.text, list(p.skills or []), p.problem_set_id, p.position,
                               solved=any(s.solved for s in mine), sessions=len(mine)))
    return out
