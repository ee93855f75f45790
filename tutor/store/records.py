"""Plain frozen dataclasses the store returns, so callers never hold a database session or a lazy ORM
object across threads. The password hash never leaves the store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

R = TypeVar("R")


def to_record(cls: type[R], row: Any, **extra: Any) -> R:
    """Build `cls` from the ORM row's attributes of the same names (plus `extra`)."""
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls) if f.name not in extra}  # type: ignore[arg-type]
    return cls(**values, **extra)


@dataclass(frozen=True)
class UserRecord:
    id: int
    name: str
    display_name: str
    role: str
    active: bool
    created_at: dt.datetime
    last_seen_at: dt.datetime | None
    failed_logins: int
    locked_until: dt.datetime | None
    has_password: bool = False
    session_epoch: int = 0           # cookies issued under an older epoch are refused


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str                     # ok | bad_credentials | locked | inactive
    user: UserRecord | None = None
    locked_until: dt.datetime | None = None


@dataclass(frozen=True)
class ClassRecord:
    id: int
    name: str
    allow_solve_mode: bool
    allow_hint_skip: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class ClassPolicy:
    """What a learner may do, over all the classes they are in (any class that allows it allows it)."""
    allow_solve_mode: bool
    allow_hint_skip: bool


@dataclass(frozen=True)
class ProblemSetRecord:
    id: int
    title: str
    created_by: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class ProblemRecord:
    id: int
    text: str
    source: str
    source_ref: str | None
    reference_answer: str | None
    reference_set_by: int | None
    skills: list[str]
    problem_set_id: int | None
    position: int
    created_by: int | None
    created_at: dt.datetime
    reference_solution: str | None = None


@dataclass(frozen=True)
class AssignmentRecord:
    id: int
    class_id: int
    problem_id: int | None
    problem_set_id: int | None
    assigned_by: int | None
    assigned_at: dt.datetime
    due_at: dt.datetime | None


@dataclass(frozen=True)
class SessionRecord:
    id: int
    user_id: int
    problem_id: int | None
    class_id: int | None
    mode: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    last_activity_at: dt.datetime
    owner: str | None
    current_step: int
    hint_level: int
    solved: bool
    final_answer: str | None
    event_count: int
    title: str

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"


@dataclass(frozen=True)
class EventRecord:
    id: int
    session_id: int
    seq: int
    kind: str
    at: dt.datetime
    turn: int | None
    round: int | None
    text: str | None
    tokens_in: int | None
    tokens_out: int | None
    seconds: float | None
    private: bool
    data: dict[str, Any]


@dataclass(frozen=True)
class CodeCellRecord:
    id: int
    event_id: int
    session_id: int
    round: int | None
    code: str
    stdout: str
    stderr: str
    error_type: str | None
    error_message: str | None
    traceback: str | None
    timed_out: bool
    restarted: bool
    duration_s: float
    observation: str
    private: bool


@dataclass(frozen=True)
class SolutionKeyRecord:
    id: int
    session_id: int | None
    problem_id: int | None
    answer: str | None
    steps: list[dict[str, Any]]
    verified: bool
    verification: str
    source: str
    model: str | None
    model_answer: str | None
    reference_answer: str | None
    disagreement: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class HintRecord:
    id: int
    session_id: int
    event_id: int | None
    step: int
    level: int
    text: str
    guard: str
    shown_at: dt.datetime


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    session_id: int
    event_id: int | None
    kind: str
    step: int | None
    input: str
    verdict: str
    feedback: str
    first_bad_line: int | None
    at: dt.datetime


@dataclass(frozen=True)
class MasteryRecord:
    id: int
    user_id: int
    skill: str
    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float
    p_known: float
    observations: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class MasteryUpdateRecord:
    id: int
    mastery_id: int
    p_before: float
    p_after: float
    correct: bool
    cause: str
    session_id: int | None
    attempt_id: int | None
    hint_id: int | None
    at: dt.datetime
    skill: str = ""


@dataclass(frozen=True)
class FlagRecord:
    id: int
    session_id: int
    source: str
    reason: str
    note: str
    raised_by: int | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by: int | None
    resolution: str | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    action: str
    target_type: str | None
    target_id: int | None
    target_label: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Transcript:
    """Everything about one session, each list in the order it happened."""
    session: SessionRecord
    learner: UserRecord
    problem: ProblemRecord | None
    key: SolutionKeyRecord | None
    events: list[EventRecord]
    code_cells: list[CodeCellRecord]
    hints: list[HintRecord]
    attempts: list[AttemptRecord]
    flags: list[FlagRecord]


@dataclass(frozen=True)
class ClassSummaryRow:
    """One learner's row in a class overview."""
    user_id: int
    name: str
    display_name: str
    sessions: int
    finished: int                        # sessions with status finished
    solved: int                          # sessions the learner solved
    answer_attempts: int
    first_try_correct_rate: float | None  # share of sessions whose first answer attempt was correct
    step_attempts: int
    hints: int
    hints_per_step: float | None         # hints / distinct (session, step) pairs that got hints or attempts
    bottom_out_rate: float | None        # share of hinted sessions that reached the bottom-out rung
    time_on_task_s: float
    last_active_at: dt.datetime | None
    mastery: dict[str, float] = field(default_factory=dict)
    open_flags: int = 0


@dataclass(frozen=True)
class ProblemStatsRow:
    """How a class did on one problem; `common_wrong` lists (answer as typed, count), most frequent first."""
    problem_id: int
    text: str
    learners: int
    sessions: int
    solved: int
    answer_attempts: int
    wrong_attempts: int
    hints: int
    common_wrong: list[tuple[str, int]]


@dataclass(frozen=True)
class DeletionReport:
    user_id: int
    name: str
    rows: dict[str, int]  # table -> rows removed or anonymised
