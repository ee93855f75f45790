"""The store's tables as typed SQLAlchemy 2 ORM classes.

The schema itself is created only by the Alembic migrations in `migrations/`; a test checks that
these classes and the migrations agree. Times are stored as naive UTC and come back timezone-aware.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so batch migrations on SQLite can find and drop them again.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("student", "teacher", "admin")
PROBLEM_SOURCES = ("student", "teacher", "dataset")
MODES = ("tutor", "solve")
STATUSES = ("active", "finished", "interrupted")
ATTEMPT_KINDS = ("answer", "step", "work")   # work: a whole worked solution
FLAG_SOURCES = ("system", "teacher")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Naive UTC in the database (SQLite has no time zones); aware UTC in Python."""
    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC time")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """PostgreSQL text cannot hold NUL and no UTF-8 can hold a lone surrogate: such characters (from a
    kernel's output, a pasted question) become U+FFFD instead of failing the write."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return _SURROGATES.sub("\ufffd", value)


class CleanText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return clean_text(value) if isinstance(value, str) else value


class CleanString(CleanText):
    impl = String  # type: ignore[assignment]
    cache_ok = True


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- people and classes ---------------------------------------------------------------------

class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(CleanString(64), unique=True)
    display_name: Mapped[str] = mapped_column(CleanString(128), default="")
    role: Mapped[str] = mapped_column(CleanString(16))
    password_hash: Mapped[str | None] = mapped_column(CleanString(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # login throttling: consecutive failures and the time until which sign-in is refused
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # bumped to end every sign-in of the user at once (password change): cookies carry the epoch they got
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SignedOut(Base):
    """Session cookies signed out before they expire, refused until then (sha256 of the cookie's nonce)."""
    __tablename__ = "signed_out"
    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class WriteProbe(Base):
    """One row /healthz rewrites to prove the store still commits (a full disk or a read-only database
    answers reads)."""
    __tablename__ = "write_probe"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(CleanString(128), default="")


class Class(Base):
    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(CleanString(128), unique=True)
    allow_solve_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_hint_skip: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClassTeacher(Base):
    __tablename__ = "class_teachers"
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Enrollment(Base):
    __tablename__ = "enrollments"
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- problems -----------------------------------------------------------------------------------

class ProblemSet(Base):
    __tablename__ = "problem_sets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(CleanString(256))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Problem(Base):
    __tablename__ = "problems"
    __table_args__ = (CheckConstraint(_in("source", PROBLEM_SOURCES), name="source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(CleanText)
    source: Mapped[str] = mapped_column(CleanString(16))
    source_ref: Mapped[str | None] = mapped_column(CleanString(256))  # dataset file and row, for dataset problems
    reference_answer: Mapped[str | None] = mapped_column(CleanText)
    reference_set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # a teacher's worked solution (GSM8K-style lines); the key's steps are recomputed from it
    reference_solution: Mapped[str | None] = mapped_column(CleanText)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    problem_set_id: Mapped[int | None] = mapped_column(ForeignKey("problem_sets.id", ondelete="SET NULL"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assignment(Base):
    """A problem or a whole problem set assigned to a class."""
    __tablename__ = "assignments"
    __table_args__ = (CheckConstraint("(problem_id IS NULL) <> (problem_set_id IS NULL)", name="one_target"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    problem_set_id: Mapped[int | None] = mapped_column(ForeignKey("problem_sets.id", ondelete="CASCADE"))
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# --- sessions and what happened in them ---------------------------------------------------------

class TutorSession(Base):
    __tablename__ = "tutor_sessions"
    __table_args__ = (CheckConstraint(_in("mode", MODES), name="mode"),
                      CheckConstraint(_in("status", STATUSES), name="status"),
                      Index("ix_tutor_sessions_status_owner", "status", "owner"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="SET NULL"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="SET NULL"), index=True)
    mode: Mapped[str] = mapped_column(CleanString(16))
    status: Mapped[str] = mapped_column(CleanString(16), default="active")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    owner: Mapped[str | None] = mapped_column(CleanString(128))  # the process that holds it while active
    current_step: Mapped[int] = mapped_column(Integer, default=0)
    hint_level: Mapped[int] = mapped_column(Integer, default=0)  # rung last shown on the current step
    solved: Mapped[bool] = mapped_column(Boolean, default=False)
    final_answer: Mapped[str | None] = mapped_column(CleanText)       # the learner's accepted answer
    event_count: Mapped[int] = mapped_column(Integer, default=0)  # last event seq; bumped under the row lock
    title: Mapped[str] = mapped_column(CleanString(256), default="")


class EventRow(Base):
    """Every event of a session in order. `data` keeps the whole event as JSON, so kinds added later
    are stored without a migration; the typed columns are the ones teachers query."""
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_events_session_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tutor_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(CleanString(32), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    turn: Mapped[int | None] = mapped_column(Integer)
    round: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(CleanText)
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[float | None] = mapped_column(Float)
    private: Mapped[bool] = mapped_column(Boolean, default=False)  # part of the hidden solution work
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CodeCell(Base):
    __tablename__ = "code_cells"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tutor_sessions.id", ondelete="CASCADE"), index=True)
    round: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(CleanText)
    stdout: Mapped[str] = mapped_column(CleanText, default="")
    stderr: Mapped[str] = mapped_column(CleanText, default="")
    error_type: Mapped[str | None] = mapped_column(CleanString(128))
    error_message: Mapped[str | None] = mapped_column(CleanText)
    traceback: Mapped[str | None] = mapped_column(CleanText)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    restarted: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    observation: Mapped[str] = mapped_column(CleanText, default="")
    private: Mapped[bool] = mapped_column(Boolean, default=False)  # ran while solving the hidden key


class SolutionKey(Base):
    __tablename__ = "solution_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_sessions.id", ondelete="CASCADE"), index=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str | None] = mapped_column(CleanText)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"text", "result", ...}]
    verified: Mapped[bool] = mapped_column(Boolean, default=False)          # confirmed by executed code
    verification: Mapped[str] = mapped_column(CleanText, default="")             # the evidence (code and output)
    source: Mapped[str] = mapped_column(CleanString(32), default="model")        # model | reference | none
    model: Mapped[str | None] = mapped_column(CleanString(256))
    model_answer: Mapped[str | None] = mapped_column(CleanText)
    reference_answer: Mapped[str | None] = mapped_column(CleanText)
    disagreement: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HintShown(Base):
    __tablename__ = "hints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tutor_sessions.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    step: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(CleanText)
    guard: Mapped[str] = mapped_column(CleanString(32), default="passed")  # passed | regenerated | fallback
    shown_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (CheckConstraint(_in("kind", ATTEMPT_KINDS), name="kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tutor_sessions.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(CleanString(16))
    step: Mapped[int | None] = mapped_column(Integer)
    input: Mapped[str] = mapped_column(CleanText)            # as typed
    verdict: Mapped[str] = mapped_column(CleanString(32))    # correct | incorrect | valid | invalid | unreadable
    # for a step or worked solution: its first line that departs from every correct path (1-based)
    feedback: Mapped[str] = mapped_column(CleanText, default="")
    first_bad_line: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- learner model, flags, audit ------------------------------------------------------------------

class Mastery(Base):
    __tablename__ = "mastery"
    __table_args__ = (UniqueConstraint("user_id", "skill", name="uq_mastery_user_skill"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    skill: Mapped[str] = mapped_column(CleanString(128))
    p_init: Mapped[float] = mapped_column(Float)
    p_learn: Mapped[float] = mapped_column(Float)
    p_guess: Mapped[float] = mapped_column(Float)
    p_slip: Mapped[float] = mapped_column(Float)
    p_known: Mapped[float] = mapped_column(Float)
    observations: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MasteryUpdate(Base):
    __tablename__ = "mastery_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mastery_id: Mapped[int] = mapped_column(ForeignKey("mastery.id", ondelete="CASCADE"), index=True)
    p_before: Mapped[float] = mapped_column(Float)
    p_after: Mapped[float] = mapped_column(Float)
    correct: Mapped[bool] = mapped_column(Boolean)
    cause: Mapped[str] = mapped_column(CleanString(32))  # attempt | hint | step | manual
    session_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_sessions.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    hint_id: Mapped[int | None] = mapped_column(ForeignKey("hints.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Flag(Base):
    __tablename__ = "flags"
    __table_args__ = (CheckConstraint(_in("source", FLAG_SOURCES), name="source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tutor_sessions.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(CleanString(16))
    reason: Mapped[str] = mapped_column(CleanString(64))  # e.g. note, sandbox_kill, hint_replaced, key_disagreement, interrupted
    note: Mapped[str] = mapped_column(CleanText, default="")
    raised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(CleanText)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(CleanString(64), default="")   # kept when the actor is deleted
    action: Mapped[str] = mapped_column(CleanString(64))                   # e.g. user.create, class.enroll, flag.raise
    target_type: Mapped[str | None] = mapped_column(CleanString(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_label: Mapped[str] = mapped_column(CleanString(256), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# The practice tables live in their own module on the same Base; importing it here registers them
# wherever the models are (the migrations' metadata, the schema check).
from tutor.store import practice_models as _practice_models  # noqa: E402,F401
