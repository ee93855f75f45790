"""The practice tables: a class's problem bank, its practice settings, the problems picked for a
student, each student's spaced-review schedule, and BKT parameters fitted per class and skill.
Registered on the same `Base` as tutor.store.models (which imports this module at its end)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tutor.store.models import Base, CleanString, CleanText, UTCDateTime, _in, utcnow

ITEM_ORIGINS = ("dataset", "teacher", "generated")
ITEM_STATUSES = ("approved", "pending")
PRACTICE_ORDERS = ("adaptive", "fixed")


class PracticeItem(Base):
    """A problem in a class's bank, with its (finer) skill and difficulty. Generated variants wait as
    `pending` until a teacher approves them; only confirmed ones are ever stored."""
    __tablename__ = "practice_items"
    __table_args__ = (UniqueConstraint("class_id", "problem_id", name="uq_practice_items_class_problem"),
                      CheckConstraint(_in("origin", ITEM_ORIGINS), name="origin"),
                      CheckConstraint(_in("status", ITEM_STATUSES), name="status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)
    skill: Mapped[str] = mapped_column(CleanString(128))
    difficulty: Mapped[int] = mapped_column(Integer, default=3)
    origin: Mapped[str] = mapped_column(CleanString(16))
    status: Mapped[str] = mapped_column(CleanString(16), default="approved")
    parent_problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="SET NULL"))
    evidence: Mapped[str] = mapped_column(CleanText, default="")   # how a generated answer was confirmed
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PracticeSettings(Base):
    __tablename__ = "practice_settings"
    __table_args__ = (CheckConstraint(_in("order_mode", PRACTICE_ORDERS), name="order_mode"),)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True)
    order_mode: Mapped[str] = mapped_column(CleanString(16), default="adaptive")
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)


class PracticePick(Base):
    """A problem the policy chose for a student, and why; settled once its session has ended."""
    __tablename__ = "practice_picks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    skill: Mapped[str] = mapped_column(CleanString(128))
    reason: Mapped[str] = mapped_column(CleanString(16))
    why: Mapped[str] = mapped_column(CleanText, default="")
    picked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)


class ReviewSchedule(Base):
    __tablename__ = "review_schedule"
    __table_args__ = (UniqueConstraint("user_id", "skill", name="uq_review_schedule_user_skill"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    skill: Mapped[str] = mapped_column(CleanString(128))
    stage: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)


class BKTFit(Base):
    """BKT parameters fitted from one class's attempt history for one skill (`mathtutor learner fit`)."""
    __tablename__ = "bkt_fits"
    __table_args__ = (UniqueConstraint("class_id", "skill", name="uq_bkt_fits_class_skill"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    skill: Mapped[str] = mapped_column(CleanString(128))
    p_init: Mapped[float] = mapped_column(Float)
    p_learn: Mapped[float] = mapped_column(Float)
    p_guess: Mapped[float] = mapped_column(Float)
    p_slip: Mapped[float] = mapped_column(Float)
    observations: Mapped[int] = mapped_column(Integer, default=0)
    fitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
