"""Problems (typed by a student, set by a teacher, or from a dataset), problem sets, and what is
assigned to which class."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase, utcnow
from tutor.store.errors import BadInput, NotFound
from tutor.store.models import PROBLEM_SOURCES, Assignment, Enrollment, Problem, ProblemSet
from tutor.store.records import AssignmentRecord, ProblemRecord, ProblemSetRecord, to_record

MAX_PROBLEM_CHARS = 20000


def _problem(s: Session, problem_id: int) -> Problem:
    row = s.get(Problem, problem_id)
    if row is None:
        raise NotFound(f"no problem with id {problem_id}")
    return row


def _skills(skills: Iterable[str]) -> list[str]:
    out: list[str] = []
    for skill in skills:
        skill = str(skill).strip()
        if skill and skill not in out:
            out.append(skill[:128])
    return out


def new_problem(s: Session, text: str, *, source: str, created_by: int | None = None, **kw: object) -> Problem:
    if not isinstance(text, str) or not text.strip():
        raise BadInput("the problem text is empty")
    if len(text) > MAX_PROBLEM_CHARS:
        raise BadInput(f"the problem text is longer than {MAX_PROBLEM_CHARS} characters")
    if source not in PROBLEM_SOURCES:
        raise BadInput(f"problem source must be one of {', '.join(PROBLEM_SOURCES)}")
    row = Problem(text=text, source=source, created_by=created_by, **kw)
    s.add(row)
    s.flush()
    return row


class ProblemsMixin(StoreBase):
    def create_problem(self, text: str, *, source: str = "teacher", reference_answer: str | None = None,
                       reference_set_by: int | None = None, skills: Iterable[str] = (),
                       problem_set_id: int | None = None, position: int | None = None,
                       source_ref: str | None = None, created_by: int | None = None,
                       reference_solution: str | None = None) -> ProblemRecord:
        if source_ref is not None and len(source_ref) > 256:
            raise BadInput("source_ref is longer than 256 characters")

        def tx(s: Session) -> ProblemRecord:
            pos = position
            if pos is None and problem_set_id is not None:
                pos = (s.scalar(select(func.max(Problem.position)).where(Problem.problem_set_id == problem_set_id)) or 0) + 1
            row = new_problem(s, text, source=source, created_by=created_by, reference_answer=reference_answer,
                              reference_set_by=reference_set_by if reference_answer is not None else None,
                              skills=_skills(skills), problem_set_id=problem_set_id, position=pos or 0,
                              source_ref=source_ref, reference_solution=_solution(reference_solution))
            return to_record(ProblemRecord, row)
        return self._write(tx)

    def get_problem(self, problem_id: int) -> ProblemRecord:
        return self._read(lambda s: to_record(ProblemRecord, _problem(s, problem_id)))

    def set_reference_answer(self, problem_id: int, answer: str | None, *, set_by: int | None) -> ProblemRecord:
        def tx(s: Session) -> ProblemRecord:
            row = _problem(s, problem_id)
            row.reference_answer = answer
            row.reference_set_by = set_by if answer is not None else None
            s.flush()
            return to_record(ProblemRecord, row)
        return self._write(tx)

    def set_reference_solution(self, problem_id: int, solution: str | None, *, set_by: int | None) -> ProblemRecord:
        """A teacher's worked solution for the problem (None removes it); sessions prepared after this use it."""
        def tx(s: Session) -> ProblemRecord:
            row = _problem(s, problem_id)
            row.reference_solution = _solution(solution)
            if solution is not None and row.reference_set_by is None:
                row.reference_set_by = set_by
            s.flush()
            return to_record(ProblemRecord, row)
        return self._write(tx)

    def set_problem_skills(self, problem_id: int, skills: Iterable[str]) -> ProblemRecord:
        def tx(s: Session) -> ProblemRecord:
            row = _problem(s, problem_id)
            row.skills = _skills(skills)
            s.flush()
            return to_record(ProblemRecord, row)
        return self._write(tx)

    def create_problem_set(self, title: str, *, created_by: int | None = None) -> ProblemSetRecord:
        if not title.strip() or len(title) > 256:
            raise BadInput("problem set titles are 1-256 characters")

        def tx(s: Session) -> ProblemSetRecord:
            row = ProblemSet(title=title.strip(), created_by=created_by)
            s.add(row)
            s.flush()
            return to_record(ProblemSetRecord, row)
        return self._write(tx)

    def get_problem_set(self, set_id: int) -> ProblemSetRecord:
        def tx(s: Session) -> ProblemSetRecord:
            row = s.get(ProblemSet, set_id)
            if row is None:
                raise NotFound(f"no problem set with id {set_id}")
            return to_record(ProblemSetRecord, row)
        return self._read(tx)

    def list_problem_sets(self) -> list[ProblemSetRecord]:
        return self._read(lambda s: [to_record(ProblemSetRecord, r) for r in s.scalars(
            select(ProblemSet).order_by(ProblemSet.id))])

    def problems_in_set(self, set_id: int) -> list[ProblemRecord]:
        return self._read(lambda s: [to_record(ProblemRecord, r) for r in s.scalars(
            select(Problem).where(Problem.problem_set_id == set_id).order_by(Problem.position, Problem.id))])

    def assign(self, class_id: int, *, problem_id: int | None = None, problem_set_id: int | None = None,
               assigned_by: int | None = None, due_at: dt.datetime | None = None) -> AssignmentRecord:
        """Assign one problem or a whole problem set (exactly one of them) to a class."""
        if (problem_id is None) == (problem_set_id is None):
            raise BadInput("assign exactly one of a problem or a problem set")

        def tx(s: Session) -> AssignmentRecord:
            row = Assignment(class_id=class_id, problem_id=problem_id, problem_set_id=problem_set_id,
                             assigned_by=assigned_by, assigned_at=utcnow(), due_at=due_at)
            s.add(row)
            s.flush()
            return to_record(AssignmentRecord, row)
        return self._write(tx)

    def unassign(self, assignment_id: int) -> None:
        def tx(s: Session) -> None:
            row = s.get(Assignment, assignment_id)
            if row is None:
                raise NotFound(f"no assignment with id {assignment_id}")
            s.delete(row)
        self._write(tx)

    def class_assignments(self, class_id: int) -> list[AssignmentRecord]:
        return self._read(lambda s: [to_record(AssignmentRecord, r) for r in s.scalars(
            select(Assignment).where(Assignment.class_id == class_id).order_by(Assignment.assigned_at, Assignment.id))])

    def assigned_problems(self, user_id: int) -> list[ProblemRecord]:
        """Problems assigned to any class the student is in (directly or through a set), oldest
        assignment first, each once."""
        def tx(s: Session) -> list[ProblemRecord]:
            class_ids = select(Enrollment.class_id).where(Enrollment.user_id == user_id)
            assignments = s.scalars(select(Assignment).where(Assignment.class_id.in_(class_ids))
                                    .order_by(Assignment.assigned_at, Assignment.id)).all()
            direct = [a.problem_id for a in assignments if a.problem_id is not None]
            sets = [a.problem_set_id for a in assignments if a.problem_set_id is not None]
            rows = s.scalars(select(Problem).where(or_(Problem.id.in_(direct), Problem.problem_set_id.in_(sets)))).all()
            by_id = {r.id: r for r in rows}
            ordered: list[ProblemRecord] = []
            seen: set[int] = set()
            for a in assignments:
                members = [by_id[a.problem_id]] if a.problem_id in by_id else sorted(
                    (r for r in rows if a.problem_set_id is not None and r.problem_set_id == a.problem_set_id),
                    key=lambda r: (r.position, r.id))
                for r in members:
                    if r.id not in seen:
                        seen.add(r.id)
                        ordered.append(to_record(ProblemRecord, r))
            return ordered
        return self._read(tx)


def _solution(text: str | None) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str) or not text.strip():
        raise BadInput("the reference solution is empty")
    if len(text) > MAX_PROBLEM_CHARS:
        raise BadInput(f"the reference solution is longer than {MAX_PROBLEM_CHARS} characters")
    return text.strip()
