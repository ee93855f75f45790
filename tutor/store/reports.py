"""Read-side views for teachers (a session's transcript, a class's summary rows, problems a class
struggles with) and the privacy operation that deletes a learner's data everywhere."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase
from tutor.store.errors import BadInput, NotFound
from tutor.store.models import (Attempt, AuditEntry, CodeCell, Enrollment, EventRow, Flag, HintShown, Mastery,
                                MasteryUpdate, Problem, SolutionKey, TutorSession, User)
from tutor.store.records import (AttemptRecord, ClassSummaryRow, CodeCellRecord, DeletionReport, EventRecord, FlagRecord,
                                 HintRecord, ProblemRecord, ProblemStatsRow, SessionRecord, SolutionKeyRecord, Transcript,
                                 to_record)
from tutor.store.sessions import in_class
from tutor.store.users import _user, _user_named, user_record

CORRECT_VERDICTS = frozenset({"correct", "right", "equivalent", "valid", "true"})
BOTTOM_OUT_LEVEL = 4
DELETED = "[deleted]"


def is_correct(verdict: str) -> bool:
    return verdict.strip().lower() in CORRECT_VERDICTS


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


class ReportsMixin(StoreBase):
    def transcript(self, session_id: int, *, include_private: bool = True) -> Transcript:
        """Everything about a session in order. `include_private=False` (for the learner's own view)
        leaves out the hidden solution work and the key."""
        def tx(s: Session) -> Transcript:
            session = s.get(TutorSession, session_id)
            if session is None:
                raise NotFound(f"no session with id {session_id}")
            problem = s.get(Problem, session.problem_id) if session.problem_id is not None else None
            key = None
            if include_private:
                key = s.scalar(select(SolutionKey).where(SolutionKey.session_id == session_id)
                               .order_by(SolutionKey.id.desc()).limit(1))
                if key is None and session.problem_id is not None:
                    key = s.scalar(select(SolutionKey).where(SolutionKey.problem_id == session.problem_id,
                                                             SolutionKey.session_id.is_(None))
                                   .order_by(SolutionKey.id.desc()).limit(1))
            events = select(EventRow).where(EventRow.session_id == session_id)
            cells = select(CodeCell).where(CodeCell.session_id == session_id)
            if not include_private:
                events = events.where(EventRow.private.is_(False))
                cells = cells.where(CodeCell.private.is_(False))
            return Transcript(
                session=to_record(SessionRecord, session),
                learner=user_record(_user(s, session.user_id)),
                problem=None if problem is None else to_record(ProblemRecord, problem),
                key=None if key is None else to_record(SolutionKeyRecord, key),
                events=[to_record(EventRecord, r) for r in s.scalars(events.order_by(EventRow.seq))],
                code_cells=[to_record(CodeCellRecord, r) for r in s.scalars(cells.order_by(CodeCell.id))],
                hints=[to_record(HintRecord, r) for r in s.scalars(
                    select(HintShown).where(HintShown.session_id == session_id).order_by(HintShown.id))],
                attempts=[to_record(AttemptRecord, r) for r in s.scalars(
                    select(Attempt).where(Attempt.session_id == session_id).order_by(Attempt.id))],
                flags=[to_record(FlagRecord, r) for r in s.scalars(
                    select(Flag).where(Flag.session_id == session_id).order_by(Flag.id))])
        return self._read(tx)

    def class_summary(self, class_id: int) -> list[ClassSummaryRow]:
        """One row per enrolled learner (sorted by name): sessions, finished, solved, first-try correct
        rate, hints per step, bottom-out rate, time on task, mastery per skill, open flags."""
        def tx(s: Session) -> list[ClassSummaryRow]:
            learners = s.scalars(select(User).join(Enrollment, Enrollment.user_id == User.id)
                                 .where(Enrollment.class_id == class_id).order_by(User.name)).all()
            ids = [u.id for u in learners]
            sessions = s.scalars(select(TutorSession).where(in_class(class_id))).all()
            owner = {x.id: x.user_id for x in sessions}
            attempts = s.scalars(select(Attempt).where(Attempt.session_id.in_(owner)).order_by(Attempt.id)).all()
            hints = s.scalars(select(HintShown).where(HintShown.session_id.in_(owner))).all()
            flags = s.execute(select(Flag.session_id).where(Flag.session_id.in_(owner), Flag.resolved_at.is_(None))).all()
            mastery = s.execute(select(Mastery.user_id, Mastery.skill, Mastery.p_known).where(Mastery.user_id.in_(ids))).all()
            rows = []
            for u in learners:
                mine = [x for x in sessions if x.user_id == u.id]
                sids = {x.id for x in mine}
                my_attempts = [a for a in attempts if a.session_id in sids]
                my_hints = [h for h in hints if h.session_id in sids]
                first: dict[int, str] = {}
                for a in my_attempts:
                    if a.kind == "answer":
                        first.setdefault(a.session_id, a.verdict)
                steps = {(h.session_id, h.step) for h in my_hints} | {
                    (a.session_id, a.step) for a in my_attempts if a.kind == "step" and a.step is not None}
                hinted = {h.session_id for h in my_hints}
                bottomed = {h.session_id for h in my_hints if h.level >= BOTTOM_OUT_LEVEL}
                time_s = sum(max(0.0, ((x.ended_at or x.last_activity_at) - x.started_at).total_seconds()) for x in mine)
                rows.append(ClassSummaryRow(
                    user_id=u.id, name=u.name, display_name=u.display_name, sessions=len(mine),
                    finished=sum(x.status == "finished" for x in mine), solved=sum(bool(x.solved) for x in mine),
                    answer_attempts=sum(a.kind == "answer" for a in my_attempts),
                    first_try_correct_rate=_ratio(sum(is_correct(v) for v in first.values()), len(first)),
                    step_attempts=sum(a.kind == "step" for a in my_attempts), hints=len(my_hints),
                    hints_per_step=_ratio(len(my_hints), len(steps)), bottom_out_rate=_ratio(len(bottomed), len(hinted)),
                    time_on_task_s=time_s, last_active_at=max((x.last_activity_at for x in mine), default=None),
                    mastery={skill: p for uid, skill, p in mastery if uid == u.id},
                    open_flags=sum(1 for (sid,) in flags if sid in sids)))
            return rows
        return self._read(tx)

    def class_problem_stats(self, class_id: int, *, top_wrong: int = 5) -> list[ProblemStatsRow]:
        """Per problem the class's learners worked on, hardest first (share of wrong answer attempts),
        with the most common wrong answers as typed (trimmed)."""
        def tx(s: Session) -> list[ProblemStatsRow]:
            sessions = s.scalars(select(TutorSession).where(in_class(class_id),
                                                            TutorSession.problem_id.is_not(None))).all()
            by_problem: dict[int, list[TutorSession]] = defaultdict(list)
            for x in sessions:
                by_problem[x.problem_id].append(x)  # type: ignore[index]
            problem_of = {x.id: x.problem_id for x in sessions}
            attempts = s.scalars(select(Attempt).where(Attempt.session_id.in_(problem_of), Attempt.kind == "answer")).all()
            hint_counts = dict(s.execute(select(HintShown.session_id, func.count()).where(
                HintShown.session_id.in_(problem_of)).group_by(HintShown.session_id)).all())
            texts = dict(s.execute(select(Problem.id, Problem.text).where(Problem.id.in_(by_problem))).all())
            out = []
            for pid, group in by_problem.items():
                mine = [a for a in attempts if problem_of[a.session_id] == pid]
                wrong = Counter(" ".join(a.input.split()) for a in mine if not is_correct(a.verdict))
                out.append(ProblemStatsRow(
                    problem_id=pid, text=texts.get(pid, ""), learners=len({x.user_id for x in group}),
                    sessions=len(group), solved=sum(bool(x.solved) for x in group), answer_attempts=len(mine),
                    wrong_attempts=sum(wrong.values()), hints=sum(hint_counts.get(x.id, 0) for x in group),
                    common_wrong=wrong.most_common(top_wrong)))
            out.sort(key=lambda r: (-(r.wrong_attempts / r.answer_attempts if r.answer_attempts else 0), r.problem_id))
            return out
        return self._read(tx)

    def delete_learner(self, user: int | str, *, actor_id: int | None = None, any_role: bool = False) -> DeletionReport:
        """Remove a learner and everything about them: sessions with every event, code cell, hint,
        attempt, key and flag; the problems they typed; mastery and its history; enrolments. Audit
        entries that name them are anonymised. One transaction: all of it or nothing."""
        def tx(s: Session) -> DeletionReport:
            row = _user(s, user) if isinstance(user, int) else _user_named(s, user)
            if row.role != "student" and not any_role:
                raise BadInput(f"{row.name} is a {row.role}, not a learner")
            uid, name = row.id, row.name
            sids = select(TutorSession.id).where(TutorSession.user_id == uid)
            mastery_ids = select(Mastery.id).where(Mastery.user_id == uid)
            counts = {
                "tutor_sessions": s.scalar(select(func.count()).select_from(TutorSession).where(TutorSession.user_id == uid)),
                "events": s.scalar(select(func.count()).select_from(EventRow).where(EventRow.session_id.in_(sids))),
                "code_cells": s.scalar(select(func.count()).select_from(CodeCell).where(CodeCell.session_id.in_(sids))),
                "hints": s.scalar(select(func.count()).select_from(HintShown).where(HintShown.session_id.in_(sids))),
                "attempts": s.scalar(select(func.count()).select_from(Attempt).where(Attempt.session_id.in_(sids))),
                "flags": s.scalar(select(func.count()).select_from(Flag).where(Flag.session_id.in_(sids))),
                "mastery": s.scalar(select(func.count()).select_from(Mastery).where(Mastery.user_id == uid)),
                "mastery_history": s.scalar(select(func.count()).select_from(MasteryUpdate)
                                            .where(MasteryUpdate.mastery_id.in_(mastery_ids))),
                "enrollments": s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.user_id == uid)),
            }
            # keys of their sessions and of the problems they typed go with them (FK cascades)
            counts["problems"] = s.execute(delete(Problem).where(Problem.created_by == uid, Problem.source == "student")
                                           ).rowcount  # type: ignore[attr-defined]
            anonymised = 0
            for entry in s.scalars(select(AuditEntry)):
                touched = False
                if entry.actor_id == uid or entry.actor_name == name:
                    entry.actor_id, entry.actor_name, touched = None, DELETED, True
                if (entry.target_type == "user" and entry.target_id == uid) or name in entry.target_label:
                    entry.target_label, touched = DELETED, True
                if name in json.dumps(entry.details):
                    entry.details, touched = {"redacted": True}, True
                anonymised += touched
            counts["audit_log (anonymised)"] = anonymised
            s.delete(row)  # the database cascades to sessions, events, hints, attempts, mastery, ...
            s.flush()
            actor = s.get(User, actor_id) if actor_id is not None else None
            s.add(AuditEntry(actor_id=actor.id if actor else None, actor_name=actor.name if actor else "",
                             action="learner.delete", target_type="user", target_id=uid, target_label=DELETED,
                             details={"rows": {k: int(v or 0) for k, v in counts.items()}}))
            return DeletionReport(user_id=uid, name=name, rows={k: int(v or 0) for k, v in counts.items()})
        return self._write(tx)
