"""Typed events that a turn yields. The web page renders them, the store records them, the CLI prints them.

Each event is a frozen dataclass with a `kind` tag; `to_dict()` gives a JSON-safe form (used by
`--json` CLIs and the store).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class TextDelta(Event):
    """A piece of model text as it streams (code fences included; the UI splits them)."""
    kind: ClassVar[str] = "text"
    text: str
    round: int = 0


@dataclass(frozen=True)
class RoundText(Event):
    """The whole model text of one round, once the round ends (what the store keeps)."""
    kind: ClassVar[str] = "round_text"
    text: str
    round: int
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class CodeStarted(Event):
    """The loop is about to run this cell in the session's kernel ("running code…")."""
    kind: ClassVar[str] = "code"
    code: str
    round: int = 0


@dataclass(frozen=True)
class CodeOutput(Event):
    """What the cell did; `observation` is the text fed back to the model inside ```output."""
    kind: ClassVar[str] = "output"
    code: str
    stdout: str
    stderr: str
    error: dict[str, str] | None  # {"type", "message", "traceback"} or None
    timed_out: bool
    restarted: bool
    duration_s: float
    observation: str
    round: int = 0


@dataclass(frozen=True)
class FinalAnswer(Event):
    kind: ClassVar[str] = "answer"
    answer: str
    source: str = "boxed"  # boxed | output | number


@dataclass(frozen=True)
class ErrorEvent(Event):
    """Something the user must be told; `code` is a stable identifier the UI maps to friendly text."""
    kind: ClassVar[str] = "error"
    code: str        # e.g. backend_unavailable, sandbox_busy, context_full, too_long, unreadable
    message: str


@dataclass(frozen=True)
class Done(Event):
    kind: ClassVar[str] = "done"
    rounds: int
    tokens_in: int
    tokens_out: int
    seconds: float
    model_seconds: float = 0.0
    code_seconds: float = 0.0
    stopped: str = "answer"  # answer | eos | max_rounds | max_tokens | context | error | cancelled
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Waiting(Event):
    """The action waits its turn because the server is full: its place in line (1 = next) and about how
    many seconds until it moves on; place 0 when the wait is over. Shown, never stored."""
    kind: ClassVar[str] = "waiting"
    what: str                       # model (a slot for the tutor to write) | kernel (a code kernel)
    place: int
    eta_s: float = 0.0


# --- tutoring mode -------------------------------------------------------------------------------
# Student-safe by construction: none of these carries the private solution key's answer or step
# results; the only text that may reveal them is a bottom-out hint or the feedback on a correct answer.


@dataclass(frozen=True)
class SessionStarted(Event):
    """First event of every session (and of a resumed one)."""
    kind: ClassVar[str] = "session_started"
    session_id: int
    mode: str                       # tutor | solve
    question: str
    problem_id: int | None = None
    resumed: bool = False


@dataclass(frozen=True)
class KeyStatus(Event):
    """Whether the private solution key is ready and trustworthy; never the key itself."""
    kind: ClassVar[str] = "key_status"
    status: str                     # preparing | verified | unverified | unavailable
    steps: int = 0                  # how many steps the hint ladder will walk through
    message: str = ""


@dataclass(frozen=True)
class TutorMessage(Event):
    """A whole tutor message in tutoring mode (guarded before it is sent, so never streamed)."""
    kind: ClassVar[str] = "tutor_message"
    text: str
    purpose: str = "reply"          # opening | reply | notice


@dataclass(frozen=True)
class HintGiven(Event):
    """One rung of the hint ladder for one step of the key (levels 1..4; 4 is the bottom-out)."""
    kind: ClassVar[str] = "hint"
    step: int                       # 1-based step the hint is about
    level: int                      # 1 orienting question, 2 strategy, 3 next move, 4 bottom-out
    text: str
    steps: int = 0                  # steps in the key
    bottom_out: bool = False
    guard: str = "passed"           # passed | regenerated | fallback (the hint guard's outcome)


@dataclass(frozen=True)
class AttemptChecked(Event):
    """The verdict on a submitted answer or step(s). (`kind` is the event tag, so the attempt's own kind
    is `attempt_kind`; the store files the event as an attempt row under these names.)"""
    kind: ClassVar[str] = "attempt"
    attempt_kind: str               # answer | step
    verdict: str                    # answer: correct | incorrect | unreadable | unchecked; step: valid | invalid | unreadable
    feedback: str
    first_bad_line: int | None = None   # 1-based line of a multi-line submission that does not follow
    step: int = 0                   # the step the attempt was made on (1-based)
    solved: bool = False
    input: str = ""                 # what the student typed
    advanced_to: int | None = None  # the step the session moved on to (the work reached this step's result)
    reached_end: bool = False       # the student's work reached the final result (they should submit it)


@dataclass(frozen=True)
class MasteryUpdated(Event):
    """The learner model's estimate for one skill after a first attempt at a step."""
    kind: ClassVar[str] = "mastery"
    skill: str
    p_mastery: float
    mastered: bool
