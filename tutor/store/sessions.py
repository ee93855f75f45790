"""Tutoring sessions and their events, each event committed the moment it is appended. Sessions left
`active` by a process that died are marked `interrupted` at start-up and can be resumed."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
from typing import Any, Mapping

from sqlalchemy import ColumnElement, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from tutor.events import Event
from tutor.store.base import MAX_ID, StoreBase, utcnow
from tutor.store.errors import BadInput, NotFound
from tutor.store.models import (ATTEMPT_KINDS, MODES, STATUSES, Assignment, Attempt, CodeCell, Enrollment, EventRow, Flag, HintShown,
                                Problem, TutorSession, clean_text)
from tutor.store.problems import new_problem
from tutor.store.records import EventRecord, SessionRecord, to_record

# Streaming pieces are not kept: the store records the whole text of each round (RoundText) instead.
SKIPPED_KINDS = frozenset({"text"})
HINT_EVENT_KINDS = frozenset({"hint", "hint_shown"})
ATTEMPT_EVENT_KINDS = frozenset({"attempt", "attempt_checked"})
CODE_EVENT_KINDS = frozenset({"output"})


def in_class(class_id: int) -> ColumnElement[bool]:
    """The sessions a class's teachers may see: by a learner enrolled in the class, started in the class
    or on a problem assigned to it (or started in no class at all, before the learner joined one). A
    learner in two classes shows each class only its own work, not everything they ever did (private
    key work included)."""
    learners = select(Enrollment.user_id).where(Enrollment.class_id == class_id)
    direct = select(Assignment.problem_id).where(Assignment.class_id == class_id, Assignment.problem_id.is_not(None))
    in_sets = (select(Problem.id).join(Assignment, Assignment.problem_set_id == Problem.problem_set_id)
               .where(Assignment.class_id == class_id))
    return and_(TutorSession.user_id.in_(learners),
                or_(TutorSession.class_id == class_id, TutorSession.class_id.is_(None), TutorSession.problem_id.in_(direct),
                    TutorSession.problem_id.in_(in_sets)))


# Built once: constructing statements per call was most of an append's CPU time.
_SESSIONS = TutorSession.__table__
_BUMP_SEQ = (update(_SESSIONS).where(_SESSIONS.c.id == bindparam("sid"))
             .values(event_count=_SESSIONS.c.event_count + 1, last_activity_at=bindparam("now"))
             .returning(_SESSIONS.c.event_count))
_SET_RUNG = (update(_SESSIONS).where(_SESSIONS.c.id == bindparam("sid"))
             .values(current_step=bindparam("step"), hint_level=bindparam("level")))
_INSERT_EVENT = insert(EventRow.__table__).returning(EventRow.__table__.c.id)


def _session(s: Session, session_id: int) -> TutorSession:
    row = s.get(TutorSession, session_id)
    if row is None:
        raise NotFound(f"no session with id {session_id}")
    return row


def event_kind(event: Any) -> str:
    """The tag of an Event (its `kind` class attribute) or of a dict event (its "kind" key)."""
    if isinstance(event, Mapping):
        kind = event.get("kind")
    else:
        kind = type(event).__dict__.get("kind")
        if not isinstance(kind, str):  # a dataclass field named `kind` hides the tag: look up the MRO
            kind = next((c.__dict__["kind"] for c in type(event).__mro__[1:]
                         if isinstance(c.__dict__.get("kind"), str) and c is not Event), None)
            kind = kind or _snake(type(event).__name__)
    if not isinstance(kind, str) or not kind or len(kind) > 32:
        raise BadInput("an event needs a kind of 1-32 characters")
    return kind


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def event_data(event: Any) -> dict[str, Any]:
    """The event as a JSON-safe dict (anything JSON cannot hold becomes its str())."""
    if isinstance(event, Mapping):
        raw = dict(event)
    elif dataclasses.is_dataclass(event) and not isinstance(event, type):
        raw = dataclasses.asdict(event)
    else:
        raise BadInput(f"cannot store {type(event).__name__}: append a tutor.events.Event or a dict with a kind")
    return json_safe(json.loads(json.dumps(raw, default=str)))


def json_safe(value: Any) -> Any:
    """Text every database can hold; NaN and infinities (which JSON columns refuse) become None."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {clean_text(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _num(data: Mapping[str, Any], key: str, typ: type) -> Any:
    value = data.get(key)
    return typ(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text_of(data: Mapping[str, Any]) -> str | None:
    for key in ("text", "message", "answer", "code"):
        if isinstance(data.get(key), str):
            return data[key]
    return None


def _int(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadInput(f"event field {key!r} must be a number")
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"event field {key!r} must be a number, not {value!r}") from None


def insert_event(s: Session, session_id: int, kind: str, data: dict[str, Any], *, turn: int | None = None,
                 private: bool = False) -> EventRecord:
    """Append one event row (and its typed row for code cells, hints, attempts) in the caller's
    transaction. Core inserts, not ORM units of work: this is the hot path, run under SQLite's write lock."""
    now = utcnow()
    conn = s.connection()
    # The UPDATE takes the session's row lock (PostgreSQL) or the write lock (SQLite) first, so two
    # writers to one session get consecutive, distinct sequence numbers.
    seq = conn.execute(_BUMP_SEQ, {"sid": session_id, "now": now}).scalar()
    if seq is None:
        raise NotFound(f"no session with id {session_id}")
    data = {**data, "kind": data.get("kind", kind)}
    values = dict(session_id=session_id, seq=seq, kind=kind, at=now, turn=turn, round=_num(data, "round", int),
                  text=_text_of(data), tokens_in=_num(data, "tokens_in", int), tokens_out=_num(data, "tokens_out", int),
                  seconds=_num(data, "seconds", float) if "seconds" in data else _num(data, "duration_s", float),
                  private=private, data=data)
    typed: tuple[Any, dict[str, Any]] | None = None
    if kind in CODE_EVENT_KINDS:
        err = data.get("error") if isinstance(data.get("error"), dict) else {}
        typed = (CodeCell, dict(session_id=session_id, round=values["round"], code=str(data.get("code", "")),
                                stdout=str(data.get("stdout", "")), stderr=str(data.get("stderr", "")),
                                error_type=err.get("type"), error_message=err.get("message"),
                                traceback=err.get("traceback"), timed_out=bool(data.get("timed_out")),
                                restarted=bool(data.get("restarted")), duration_s=float(data.get("duration_s") or 0.0),
                                observation=str(data.get("observation", "")), private=private))
    elif kind in HINT_EVENT_KINDS:
        step, level = _int(data, "step", 0), _int(data, "level", 0)
        typed = (HintShown, dict(session_id=session_id, step=step, level=level, text=str(data.get("text", "")),
                                 guard=str(data.get("guard") or "passed")[:32], shown_at=now))
    elif kind in ATTEMPT_EVENT_KINDS:
        attempt_kind = data.get("attempt_kind") or data.get("kind")
        fb_line = data.get("first_bad_line")
        typed = (Attempt, dict(session_id=session_id, kind=attempt_kind if attempt_kind in ATTEMPT_KINDS else "answer",
                               step=_num(data, "step", int), input=str(data.get("input", data.get("text", ""))),
                               verdict=str(data.get("verdict", ""))[:32], feedback=str(data.get("feedback") or ""),
                               first_bad_line=fb_line if isinstance(fb_line, int) else None, at=now))
    event_id = conn.execute(_INSERT_EVENT, values).scalar_one()
    if typed is not None:
        model, row = typed
        conn.execute(insert(model.__table__), {"event_id": event_id, **row})
        if model is HintShown:
            conn.execute(_SET_RUNG, {"sid": session_id, "step": row["step"], "level": row["level"]})
    return EventRecord(id=event_id, **values)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child its parent has not reaped yet still answers kill(0)
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except OSError:
        return True


class SessionsMixin(StoreBase):
    def create_session(self, user_id: int, *, mode: str = "tutor", problem_id: int | None = None,
                       question: str | None = None, class_id: int | None = None, title: str | None = None) -> SessionRecord:
        """A new active session owned by this process. Give a `problem_id`, or a `question` as typed
        (stored as a problem with source `student`)."""
        if mode not in MODES:
            raise BadInput(f"mode must be one of {', '.join(MODES)}")
        if (problem_id is None) == (question is None):
            raise BadInput("start a session with either a problem or a question")

        def tx(s: Session) -> SessionRecord:
            if problem_id is not None:
                problem = s.get(Problem, problem_id)
                if problem is None:
                    raise NotFound(f"no problem with id {problem_id}")
            else:
                problem = new_problem(s, question or "", source="student", created_by=user_id)
            text = " ".join(problem.text.split())
            row = TutorSession(user_id=user_id, problem_id=problem.id, class_id=class_id, mode=mode, status="active",
                               owner=self.owner, title=(title or text)[:256], event_count=0, current_step=0,
                               hint_level=0, solved=False, started_at=utcnow(), last_activity_at=utcnow())
            s.add(row)
            s.flush()
            return to_record(SessionRecord, row)
        return self._write(tx)

    def get_session(self, session_id: int) -> SessionRecord:
        return self._read(lambda s: to_record(SessionRecord, _session(s, session_id)))

    def session_for(self, user_id: int, session_id: int) -> SessionRecord:
        """The session if it belongs to `user_id`; NotFound otherwise (not Forbidden: ids are not confirmed)."""
        if not isinstance(session_id, int) or not 0 < session_id <= MAX_ID:
            raise NotFound(f"no session with id {session_id}")

        def tx(s: Session) -> SessionRecord:
            row = s.get(TutorSession, session_id)
            if row is None or row.user_id != user_id:
                raise NotFound(f"no session with id {session_id}")
            return to_record(SessionRecord, row)
        return self._read(tx)

    def list_sessions(self, user_id: int, *, limit: int | None = None, status: str | None = None) -> list[SessionRecord]:
        """A learner's sessions, newest first."""
        def tx(s: Session) -> list[SessionRecord]:
            q = select(TutorSession).where(TutorSession.user_id == user_id)
            if status is not None:
                q = q.where(TutorSession.status == status)
            q = q.order_by(TutorSession.started_at.desc(), TutorSession.id.desc()).limit(limit)
            return [to_record(SessionRecord, r) for r in s.scalars(q)]
        return self._read(tx)

    def class_sessions(self, class_id: int, *, limit: int | None = None) -> list[SessionRecord]:
        """The class's sessions (`in_class`), newest first (the teacher's review list)."""
        def tx(s: Session) -> list[SessionRecord]:
            q = (select(TutorSession).where(in_class(class_id))
                 .order_by(TutorSession.started_at.desc(), TutorSession.id.desc()).limit(limit))
            return [to_record(SessionRecord, r) for r in s.scalars(q)]
        return self._read(tx)

    def class_has_session(self, class_id: int, session_id: int) -> bool:
        """Is this session one the class's teachers may see (`in_class`)?"""
        return bool(self._read(lambda s: s.scalar(select(TutorSession.id).where(
            TutorSession.id == session_id, in_class(class_id)))))

    def recent_events(self, *, kind: str, limit: int = 50) -> list[EventRecord]:
        """The latest events of one kind over all sessions, newest first (e.g. `error` for the admin page)."""
        def tx(s: Session) -> list[EventRecord]:
            q = select(EventRow).where(EventRow.kind == kind).order_by(EventRow.id.desc()).limit(limit)
            return [to_record(EventRecord, r) for r in s.scalars(q)]
        return self._read(tx)

    def set_progress(self, session_id: int, *, current_step: int | None = None,
                     hint_level: int | None = None) -> SessionRecord:
        """Move to another step (the hint rung goes back to 0 unless given) or set the rung."""
        def tx(s: Session) -> SessionRecord:
            row = _session(s, session_id)
            if current_step is not None:
                if current_step != row.current_step and hint_level is None:
                    row.hint_level = 0
                row.current_step = current_step
            if hint_level is not None:
                row.hint_level = hint_level
            row.last_activity_at = utcnow()
            s.flush()
            return to_record(SessionRecord, row)
        return self._write(tx)

    def set_status(self, session_id: int, status: str) -> SessionRecord:
        if status not in STATUSES:
            raise BadInput(f"status must be one of {', '.join(STATUSES)}")

        def tx(s: Session) -> SessionRecord:
            row = _session(s, session_id)
            row.status = status
            row.ended_at = utcnow() if status == "finished" else None
            row.owner = self.owner if status == "active" else None
            s.flush()
            return to_record(SessionRecord, row)
        return self._write(tx)

    def finish_session(self, session_id: int, *, solved: bool | None = None,
                       final_answer: str | None = None) -> SessionRecord:
        def tx(s: Session) -> SessionRecord:
            row = _session(s, session_id)
            row.status, row.ended_at, row.owner = "finished", utcnow(), None
            if solved is not None:
                row.solved = solved
            if final_answer is not None:
                row.final_answer = final_answer
            s.flush()
            return to_record(SessionRecord, row)
        return self._write(tx)

    def resume_session(self, session_id: int) -> SessionRecord:
        """Take an interrupted (or finished) session back: active again, owned by this process; an
        event `resumed` marks the place in the transcript."""
        def tx(s: Session) -> SessionRecord:
            row = _session(s, session_id)
            previous = row.status
            row.status, row.owner, row.ended_at = "active", self.owner, None
            s.flush()
            if previous != "active":
                insert_event(s, session_id, "resumed", {"kind": "resumed", "previous_status": previous})
            s.refresh(row)
            return to_record(SessionRecord, row)
        return self._write(tx)

    stale_after_s: float | None = None  # default for recover_stale (settings.store.stale_after_s; 0 = never)

    def recover_stale(self, *, stale_after_s: float | None = None) -> list[int]:
        """Mark `active` sessions whose process is gone as `interrupted` (call at start-up); returns their ids.
        A session is stale when its owner ran on this host and is no longer running, or — for owners on
        other hosts, which cannot be checked — has been idle `stale_after_s` seconds. The owner is set
        only while an action runs (store.claims), so an active session without one is idle, not stale."""
        if stale_after_s is None:
            stale_after_s = self.stale_after_s or None
        me_host, me_pid = socket.gethostname(), os.getpid()
        now = utcnow()
        candidates = self._read(lambda s: s.execute(select(TutorSession.id, TutorSession.owner, TutorSession.last_activity_at)
                                                    .where(TutorSession.status == "active")).all())
        stale: list[int] = []
        for session_id, owner, last in candidates:
            if owner == self.owner:
                continue
            host, _, rest = (owner or "").partition(":")
            pid_text = rest.partition(":")[0]
            if not owner:
                continue
            if not pid_text.isdigit():
                dead = True
            elif host == me_host:
                dead = int(pid_text) == me_pid or not _pid_alive(int(pid_text))
            else:
                dead = stale_after_s is not None and (now - last).total_seconds() >= stale_after_s
            if dead:
                stale.append(session_id)
        marked: list[int] = []
        for session_id in stale:
            def tx(s: Session, session_id: int = session_id) -> bool:
                row = s.get(TutorSession, session_id)
                if row is None or row.status != "active" or row.owner == self.owner:
                    return False  # resumed or finished meanwhile
                previous_owner = row.owner
                row.status, row.owner = "interrupted", None
                s.flush()
                insert_event(s, session_id, "interrupted", {"kind": "interrupted", "previous_owner": previous_owner})
                s.add(Flag(session_id=session_id, source="system", reason="interrupted", created_at=utcnow(),
                           note="The process serving this session stopped mid-session; it was marked interrupted."))
                return True
            if self._write(tx):
                marked.append(session_id)
        return marked

    def append(self, session_id: int, event: Event | Mapping[str, Any], *, turn: int | None = None,
               private: bool = False) -> EventRecord | None:
        """Record one event of the session, committed before this returns. `event` is a tutor.events.Event
        or a dict with a "kind". Streaming TextDelta pieces are skipped (returns None): the store keeps
        each round's whole text from RoundText. Code outputs, hints and attempts also get typed rows."""
        kind = event_kind(event)
        if kind in SKIPPED_KINDS:
            return None
        data = event_data(event)
        if not isinstance(event, Mapping) and "kind" in {f.name for f in dataclasses.fields(event)}:  # type: ignore[arg-type]
            data["attempt_kind"] = data["kind"]  # the event's own field named `kind` (answer | step)
        data["kind"] = kind
        return self._combined_write(lambda s: insert_event(s, session_id, kind, data, turn=turn, private=private))

    def append_message(self, session_id: int, text: str, *, role: str = "student",
                       turn: int | None = None) -> EventRecord:
        """A chat message as typed (kind `message`, with its role: student | tutor | system)."""
        if role not in ("student", "tutor", "system"):
            raise BadInput("message role must be student, tutor or system")
        record = self.append(session_id, {"kind": "message", "role": role, "text": text}, turn=turn)
        assert record is not None
        return record

    def events(self, session_id: int, *, since_seq: int = 0, include_private: bool = True) -> list[EventRecord]:
        """The session's events in order (after `since_seq`); `include_private=False` drops the hidden
        solution work a student must not see."""
        def tx(s: Session) -> list[EventRecord]:
            q = select(EventRow).where(EventRow.session_id == session_id, EventRow.seq > since_seq)
            if not include_private:
                q = q.where(EventRow.private.is_(False))
            return [to_record(EventRecord, r) for r in s.scalars(q.order_by(EventRow.seq))]
        return self._read(tx)
