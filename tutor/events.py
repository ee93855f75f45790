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
