"""Practice in the store: a class's problem bank, its practice settings, the picks made for a
student, each student's review schedule, and BKT parameters fitted per class and skill."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase, utcnow
from tutor.store.errors import AlreadyExists, BadInput, NotFound
from tutor.store.models import Problem, TutorSession
from tutor.store.practice_models import (ITEM_ORIGINS, ITEM_STATUSES, PRACTICE_ORDERS, BKTFit, PracticeItem,
                                         PracticePick, PracticeSettings, ReviewSchedule)
from tutor.store.records import to_record


@dataclass(frozen=True)
class PracticeItemRecord:
    id: int
    class_id: int
    problem_id: int
    skill: str
    difficulty: int
    origin: str
    status: str
    parent_problem_id: int | None
    evidence: str
    created_by: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class PracticeSettingsRecord:
    class_id: int
    order_mode: str = "adaptive"
    auto_approve: bool = False


@dataclass(frozen=True)
class PickRecord:
    id: int
    user_id: int
    problem_id: int
    skill: str
    reason: str
    why: str
    picked_at: dt.datetime
    settled: bool


@dataclass(frozen=True)
class ReviewRecord:
    user_id: int
    skill: str
    stage: int
    due_at: dt.datetime
    reviews: int
    lapses: int


@dataclass(frozen=True)
class BKTFitRecord:
    class_id: int
    skill: str
    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float
    observations: int
    fitted_at: dt.datetime


def _item(s: Session, item_id: int) -> PracticeItem:
    row = s.get(PracticeItem, item_id)
    if row is None:
        raise NotFound(f"no practice item with id {item_id}")
    return row


class PracticeMixin(StoreBase):
    # --- the bank -----------------------------------------------------------------------------------
    def add_practice_item(self, class_id: int, problem_id: int, *, skill: str, difficulty: int = 3,
                          origin: str = "teacher", status: str = "approved", parent_problem_id: int | None = None,
                          evidence: str = "", created_by: int | None = None) -> PracticeItemRecord:
        if origin not in ITEM_ORIGINS or status not in ITEM_STATUSES:
            raise BadInput(f"origin is one of {', '.join(ITEM_ORIGINS)}; status one of {', '.join(ITEM_STATUSES)}")
        if not 1 <= int(difficulty) <= 5:
            raise BadInput(f"difficulty is 1-5, not {difficulty}")
        skill = skill.strip()[:128]
        if not skill:
            raise BadInput("a practice problem needs a skill")

        def tx(s: Session) -> PracticeItemRecord:
            if s.scalar(select(PracticeItem.id).where(PracticeItem.class_id == class_id,
                                                      PracticeItem.problem_id == problem_id)) is not None:
                raise AlreadyExists(f"problem {problem_id} is already in the bank of class {class_id}")
            row = PracticeItem(class_id=class_id, problem_id=problem_id, skill=skill, difficulty=int(difficulty),
                               origin=origin, status=status, parent_problem_id=parent_problem_id,
                               evidence=evidence, created_by=created_by, created_at=utcnow())
            s.add(row)
            s.flush()
            return to_record(PracticeItemRecord, row)
        return self._write(tx)

    def practice_items(self, class_id: int, *, status: str | None = None) -> list[PracticeItemRecord]:
        def tx(s: Session) -> list[PracticeItemRecord]:
            q = select(PracticeItem).where(PracticeItem.class_id == class_id)
            if status is not None:
                q = q.where(PracticeItem.status == status)
            return [to_record(PracticeItemRecord, r) for r in s.scalars(q.order_by(PracticeItem.id))]
        return self._read(tx)

    def practice_item(self, item_id: int) -> PracticeItemRecord:
        return self._read(lambda s: to_record(PracticeItemRecord, _item(s, item_id)))

    def bank_sources(self, class_id: int) -> set[str]:
        """The source_ref of every problem in the bank (so a dataset row is added once)."""
        return self._read(lambda s: {ref for ref in s.scalars(
            select(Problem.source_ref).join(PracticeItem, PracticeItem.problem_id == Problem.id)
            .where(PracticeItem.class_id == class_id)) if ref})

    def approve_practice_item(self, item_id: int) -> PracticeItemRecord:
        def tx(s: Session) -> PracticeItemRecord:
            row = _item(s, item_id)
            row.status = "approved"
            s.flush()
            return to_record(PracticeItemRecord, row)
        return self._write(tx)

    def remove_practice_item(self, item_id: int) -> None:
        self._write(lambda s: s.delete(_item(s, item_id)))

    def in_practice_bank(self, user_class_ids: list[int], problem_id: int) -> bool:
        """Is the problem an approved item in the bank of one of these classes?"""
        return self._read(lambda s: s.scalar(select(PracticeItem.id).where(
            PracticeItem.class_id.in_(user_class_ids), PracticeItem.problem_id == problem_id,
            PracticeItem.status == "approved").limit(1)) is not None)

    # --- settings -----------------------------------------------------------------------------------
    def practice_settings(self, class_id: int) -> PracticeSettingsRecord:
        def tx(s: Session) -> PracticeSettingsRecord:
            row = s.get(PracticeSettings, class_id)
            return PracticeSettingsRecord(class_id) if row is None else to_record(PracticeSettingsRecord, row)
        return self._read(tx)

    def set_practice_settings(self, class_id: int, *, order_mode: str | None = None,
                              auto_approve: bool | None = None) -> PracticeSettingsRecord:
        if order_mode is not None and order_mode not in PRACTICE_ORDERS:
            raise BadInput(f"practice order is one of {', '.join(PRACTICE_ORDERS)}")

        def tx(s: Session) -> PracticeSettingsRecord:
            row = s.get(PracticeSettings, class_id)
            if row is None:
                row = PracticeSettings(class_id=class_id, order_mode="adaptive", auto_approve=False)
                s.add(row)
            if order_mode is not None:
                row.order_mode = order_mode
            if auto_approve is not None:
                row.auto_approve = bool(auto_approve)
            s.flush()
            return to_record(PracticeSettingsRecord, row)
        return self._write(tx)

    # --- picks and what the student did -------------------------------------------------------------
    def record_pick(self, user_id: int, problem_id: int, *, skill: str, reason: str, why: str) -> PickRecord:
        """Stamped with the store's own time, like the sessions it is later matched with."""
        def tx(s: Session) -> PickRecord:
            row = PracticePick(user_id=user_id, problem_id=problem_id, skill=skill[:128], reason=reason[:16],
                               why=why, picked_at=utcnow(), settled=False)
            s.add(row)
            s.flush()
            return to_record(PickRecord, row)
        return self._write(tx)

    def picks(self, user_id: int, *, open_only: bool = False) -> list[PickRecord]:
        def tx(s: Session) -> list[PickRecord]:
            q = select(PracticePick).where(PracticePick.user_id == user_id)
            if open_only:
                q = q.where(PracticePick.settled.is_(False))
            return [to_record(PickRecord, r) for r in s.scalars(q.order_by(PracticePick.id))]
        return self._read(tx)

    def settle_pick(self, pick_id: int) -> None:
        def tx(s: Session) -> None:
            row = s.get(PracticePick, pick_id)
            if row is not None:
                row.settled = True
        self._write(tx)

    def solved_problem_ids(self, user_id: int) -> set[int]:
        return self._read(lambda s: {pid for pid in s.scalars(select(TutorSession.problem_id).where(
            TutorSession.user_id == user_id, TutorSession.solved.is_(True))) if pid is not None})

    # --- the review schedule --------------------------------------------------------------------------
    def reviews(self, user_id: int) -> list[ReviewRecord]:
        return self._read(lambda s: [to_record(ReviewRecord, r) for r in s.scalars(
            select(ReviewSchedule).where(ReviewSchedule.user_id == user_id).order_by(ReviewSchedule.due_at))])

    def save_review(self, user_id: int, skill: str, *, stage: int, due_at: dt.datetime, reviews: int = 0,
                    lapses: int = 0) -> ReviewRecord:
        def tx(s: Session) -> ReviewRecord:
            row = s.scalar(select(ReviewSchedule).where(ReviewSchedule.user_id == user_id,
                                                        ReviewSchedule.skill == skill))
            if row is None:
                row = ReviewSchedule(user_id=user_id, skill=skill[:128])
                s.add(row)
            row.stage, row.due_at, row.reviews, row.lapses = stage, due_at, reviews, lapses
            s.flush()
            return to_record(ReviewRecord, row)
        return self._write(tx)

    # --- fitted BKT parameters ------------------------------------------------------------------------
    def save_bkt_fit(self, class_id: int, skill: str, params: tuple[float, float, float, float], *,
                     observations: int) -> BKTFitRecord:
        def tx(s: Session) -> BKTFitRecord:
            row = s.scalar(select(BKTFit).where(BKTFit.class_id == class_id, BKTFit.skill == skill))
            if row is None:
                row = BKTFit(class_id=class_id, skill=skill[:128])
                s.add(row)
            row.p_init, row.p_learn, row.p_guess, row.p_slip = (float(v) for v in params)
            row.observations, row.fitted_at = observations, utcnow()
            s.flush()
            return to_record(BKTFitRecord, row)
        return self._write(tx)

    def bkt_fits(self, class_id: int) -> list[BKTFitRecord]:
        return self._read(lambda s: [to_record(BKTFitRecord, r) for r in s.scalars(
            select(BKTFit).where(BKTFit.class_id == class_id).order_by(BKTFit.skill))])
