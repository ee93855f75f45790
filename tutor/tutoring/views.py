"""What the tutoring facade hands out (plain, student-safe dataclasses). Nothing here carries the hidden
key to a student."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tutor.errors import BadInput, InputTooLong


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
