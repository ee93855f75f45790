"""What the tutor knows and what the learner did: solution keys, hints shown, attempts, code cells,
and mastery per skill (Bayesian Knowledge Tracing state) with the history of every update."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase, utcnow
from tutor.store.errors import BadInput
from tutor.store.models import ATTEMPT_KINDS, Attempt, CodeCell, HintShown, Mastery, MasteryUpdate, SolutionKey
from tutor.store.records import (AttemptRecord, CodeCellRecord, HintRecord, MasteryRecord, MasteryUpdateRecord,
                                 SolutionKeyRecord, to_record)
from tutor.store.sessions import event_data, insert_event


def _prob(name: str, value: float) -> float:
    if not (0.0 <= float(value) <= 1.0):
        raise BadInput(f"{name} must be a probability in [0, 1], not {value}")
    return float(value)


class LearningMixin(StoreBase):
    # --- solution keys -------------------------------------------------------------------------
    def save_solution_key(self, *, session_id: int | None = None, problem_id: int | None = None,
                          answer: str | None, steps: Iterable[dict[str, Any]] = (), verified: bool = False,
                          verification: str = "", source: str = "model", model: str | None = None,
                          model_answer: str | None = None, reference_answer: str | None = None,
                          disagreement: bool = False) -> SolutionKeyRecord:
        """Record the (private) solution key of a session and/or a problem. `steps` are dicts such as
        {"text": ..., "result": ...}; `verified` means the answer was confirmed by executed code."""
        if session_id is None and problem_id is None:
            raise BadInput("a solution key belongs to a session or a problem")
        steps_list = event_data({"steps": [dict(step) for step in steps]})["steps"]  # JSON-safe, clean text

        def tx(s: Session) -> SolutionKeyRecord:
            row = SolutionKey(session_id=session_id, problem_id=problem_id, answer=answer, steps=steps_list,
                              verified=verified, verification=verification, source=source, model=model,
                              model_answer=model_answer, reference_answer=reference_answer,
                              disagreement=disagreement, created_at=utcnow())
            s.add(row)
            s.flush()
            return to_record(SolutionKeyRecord, row)
        return self._write(tx)

    def solution_key(self, *, session_id: int | None = None, problem_id: int | None = None) -> SolutionKeyRecord | None:
        """The latest key of the session, else (or when only `problem_id` is given) of the problem."""
        def tx(s: Session) -> SolutionKeyRecord | None:
            for column, value in ((SolutionKey.session_id, session_id), (SolutionKey.problem_id, problem_id)):
                if value is None:
                    continue
                row = s.scalar(select(SolutionKey).where(column == value).order_by(SolutionKey.id.desc()).limit(1))
                if row is not None:
                    return to_record(SolutionKeyRecord, row)
            return None
        return self._read(tx)

    # --- hints, attempts, code cells -------------------------------------------------------------
    def record_hint(self, session_id: int, *, step: int, level: int, text: str, guard: str = "passed",
                    turn: int | None = None) -> HintRecord:
        """A hint shown to the learner: appends a `hint` event, a hints row, and moves the session's
        current step and rung to (step, level). Same effect as appending a HintShown event."""
        data = {"kind": "hint", "step": int(step), "level": int(level), "text": text, "guard": guard}

        def tx(s: Session) -> HintRecord:
            event = insert_event(s, session_id, "hint", data, turn=turn)
            return to_record(HintRecord, s.scalar(select(HintShown).where(HintShown.event_id == event.id)))
        return self._write(tx)

    def record_attempt(self, session_id: int, *, kind: str, input: str, verdict: str, feedback: str = "",
                       step: int | None = None, first_bad_line: int | None = None,
                       turn: int | None = None) -> AttemptRecord:
        """A learner's answer or step as typed, with the verdict and the feedback shown."""
        if kind not in ATTEMPT_KINDS:
            raise BadInput(f"attempt kind must be one of {', '.join(ATTEMPT_KINDS)}")
        data = {"kind": "attempt", "attempt_kind": kind, "input": input, "verdict": verdict, "feedback": feedback,
                "step": step, "first_bad_line": first_bad_line}

        def tx(s: Session) -> AttemptRecord:
            event = insert_event(s, session_id, "attempt", data, turn=turn)
            return to_record(AttemptRecord, s.scalar(select(Attempt).where(Attempt.event_id == event.id)))
        return self._write(tx)

    def hints(self, session_id: int) -> list[HintRecord]:
        return self._read(lambda s: [to_record(HintRecord, r) for r in s.scalars(
            select(HintShown).where(HintShown.session_id == session_id).order_by(HintShown.id))])

    def attempts(self, session_id: int) -> list[AttemptRecord]:
        return self._read(lambda s: [to_record(AttemptRecord, r) for r in s.scalars(
            select(Attempt).where(Attempt.session_id == session_id).order_by(Attempt.id))])

    def code_cells(self, session_id: int, *, include_private: bool = True) -> list[CodeCellRecord]:
        def tx(s: Session) -> list[CodeCellRecord]:
            q = select(CodeCell).where(CodeCell.session_id == session_id)
            if not include_private:
                q = q.where(CodeCell.private.is_(False))
            return [to_record(CodeCellRecord, r) for r in s.scalars(q.order_by(CodeCell.id))]
        return self._read(tx)

    # --- mastery -----------------------------------------------------------------------------------
    def get_mastery(self, user_id: int, skill: str) -> MasteryRecord | None:
        def tx(s: Session) -> MasteryRecord | None:
            row = s.scalar(select(Mastery).where(Mastery.user_id == user_id, Mastery.skill == skill))
            return None if row is None else to_record(MasteryRecord, row)
        return self._read(tx)

    def mastery_of(self, user_id: int) -> list[MasteryRecord]:
        return self._read(lambda s: [to_record(MasteryRecord, r) for r in s.scalars(
            select(Mastery).where(Mastery.user_id == user_id).order_by(Mastery.skill))])

    def update_mastery(self, user_id: int, skill: str, p_after: float, *, correct: bool, cause: str,
                       params: tuple[float, float, float, float], session_id: int | None = None,
                       attempt_id: int | None = None, hint_id: int | None = None) -> MasteryRecord:
        """Store the learner's new P(known) for `skill` (computed by the learner model) and a history row
        with the value before, what caused it (`attempt`, `hint`, ...) and its source row.
        `params` = (p_init, p_learn, p_guess, p_slip); a skill seen for the first time starts at p_init."""
        p_init, p_learn, p_guess, p_slip = (_prob(n, v) for n, v in zip(("p_init", "p_learn", "p_guess", "p_slip"), params))
        p_after = _prob("p_after", p_after)
        skill = skill.strip()[:128]
        if not skill:
            raise BadInput("a skill name is needed")

        def tx(s: Session) -> MasteryRecord:
            row = s.scalar(select(Mastery).where(Mastery.user_id == user_id, Mastery.skill == skill))
            if row is None:
                row = Mastery(user_id=user_id, skill=skill, p_init=p_init, p_learn=p_learn, p_guess=p_guess,
                              p_slip=p_slip, p_known=p_init, observations=0)
                s.add(row)
                s.flush()
            before = row.p_known
            row.p_init, row.p_learn, row.p_guess, row.p_slip = p_init, p_learn, p_guess, p_slip
            row.p_known, row.observations, row.updated_at = p_after, row.observations + 1, utcnow()
            s.add(MasteryUpdate(mastery_id=row.id, p_before=before, p_after=p_after, correct=correct, cause=cause[:32],
                                session_id=session_id, attempt_id=attempt_id, hint_id=hint_id, at=utcnow()))
            s.flush()
            return to_record(MasteryRecord, row)
        return self._write(tx)

    def mastery_history(self, user_id: int, skill: str | None = None) -> list[MasteryUpdateRecord]:
        """Every update of the learner's mastery (of one skill or all), oldest first."""
        def tx(s: Session) -> list[MasteryUpdateRecord]:
            q = (select(MasteryUpdate, Mastery.skill).join(Mastery, Mastery.id == MasteryUpdate.mastery_id)
                 .where(Mastery.user_id == user_id))
            if skill is not None:
                q = q.where(Mastery.skill == skill)
            return [to_record(MasteryUpdateRecord, row, skill=name)
                    for row, name in s.execute(q.order_by(MasteryUpdate.id))]
        return self._read(tx)
