"""Spaced review: a mastered skill comes back after growing intervals; a failed review starts the
intervals again from the shortest (the BKT update of the failed attempt lowers the estimate itself)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Callable

INTERVALS_DAYS: tuple[int, ...] = (1, 3, 7, 21, 60)
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class ReviewState:
    skill: str
    stage: int                 # index into INTERVALS_DAYS of the interval now running
    due_at: dt.datetime
    reviews: int = 0
    lapses: int = 0

    @property
    def interval_days(self) -> int:
        return INTERVALS_DAYS[min(self.stage, len(INTERVALS_DAYS) - 1)]

    def is_due(self, now: dt.datetime) -> bool:
        return now >= self.due_at


def first_review(skill: str, now: dt.datetime) -> ReviewState:
    """A skill just mastered: its first review is one interval away."""
    return ReviewState(skill=skill, stage=0, due_at=now + dt.timedelta(days=INTERVALS_DAYS[0]))


def after_review(state: ReviewState, passed: bool, now: dt.datetime) -> ReviewState:
    """Passed: the next, longer interval. Failed: back to the shortest one."""
    if passed:
        stage = min(state.stage + 1, len(INTERVALS_DAYS) - 1)
        return replace(state, stage=stage, due_at=now + dt.timedelta(days=INTERVALS_DAYS[stage]),
                       reviews=state.reviews + 1)
    return replace(state, stage=0, due_at=now + dt.timedelta(days=INTERVALS_DAYS[0]), reviews=state.reviews + 1,
                   lapses=state.lapses + 1)
