"""The next problem: the teacher's due set first, then a mastered skill due for review, then the
weakest unmastered skill the student is ready for at a difficulty matched to the estimate; never a
solved problem except for review. Pure: the product and the simulation call the same `choose`."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from tutor.practice.catalog import label
from tutor.tutoring.learner import BKTParams, update

ORDERS = ("adaptive", "fixed")


@dataclass(frozen=True)
class Item:
    problem_id: int
    skill: str
    difficulty: int = 3                  # 1-5
    assigned: bool = False               # in a set the teacher assigned with a due date
    due_at: dt.datetime | None = None


@dataclass(frozen=True)
class Choice:
    problem_id: int
    skill: str
    reason: str                          # assigned | review | practice | fixed
    to_master: int = 0                   # correct first attempts still needed (practice)
    difficulty: int = 3
    due_at: dt.datetime | None = None

    def why(self) -> str:
        name = label(self.skill)
        if self.reason == "assigned":
            due = f" (due {self.due_at:%d %b})" if self.due_at else ""
            return f"Your teacher assigned this{due}."
        if self.reason == "review":
            return f"Review: you mastered {name} a while ago; this checks it has stuck."
        if self.reason == "fixed":
            return "Next in your class's order."
        more = "1 more" if self.to_master == 1 else f"{self.to_master} more"
        return f"You're practising {name}: {more} to master."


@dataclass
class Learner:
    """What the policy knows of one student."""
    estimates: Mapping[str, float]                       # P(known) per skill; missing: never seen
    solved: set[int] = field(default_factory=set)        # problems already solved
    due_reviews: Iterable[str] = ()                      # mastered skills whose review is due


def to_master(p_known: float, params: BKTParams, cap: int = 50) -> int:
    """How many correct first attempts in a row would bring the estimate to mastery."""
    n = 0
    while p_known < params.threshold and n < cap:
        p_known, n = update(p_known, True, params), n + 1
    return n


def target_difficulty(p_known: float, params: BKTParams) -> int:
    """1 for a skill barely started, 5 close to mastery."""
    span = max(params.threshold - params.p_init, 1e-6)
    return 1 + min(4, max(0, int(5 * (p_known - params.p_init) / span)))


def _pick(items: list[Item], target: int) -> Item:
    return min(items, key=lambda i: (abs(i.difficulty - target), i.problem_id))


def choose(items: Iterable[Item], learner: Learner, params: BKTParams, *, order: str = "adaptive",
           prerequisites: Mapping[str, tuple[str, ...]] | None = None) -> Choice | None:
    """The next problem for `learner` from `items`, or None when there is nothing left to practise."""
    items = list(items)
    unsolved = [i for i in items if i.problem_id not in learner.solved]
    if order == "fixed":
        return Choice(unsolved[0].problem_id, unsolved[0].skill, "fixed", difficulty=unsolved[0].difficulty) \
            if unsolved else None
    latest = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    due = sorted((i for i in unsolved if i.assigned), key=lambda i: (i.due_at or latest, i.problem_id))
    if due:
        return Choice(due[0].problem_id, due[0].skill, "assigned", difficulty=due[0].difficulty, due_at=due[0].due_at)
    p = lambda skill: learner.estimates.get(skill, params.p_init)  # noqa: E731
    by_skill: dict[str, list[Item]] = {}
    for item in items:
        by_skill.setdefault(item.skill, []).append(item)
    for skill in sorted(set(learner.due_reviews) & set(by_skill)):
        pool = [i for i in by_skill[skill] if i.problem_id not in learner.solved] or by_skill[skill]
        pick = _pick(pool, 5)
        return Choice(pick.problem_id, skill, "review", difficulty=pick.difficulty)
    unmastered = [s for s in by_skill if p(s) < params.threshold]
    prereq = prerequisites or {}
    ready = [s for s in unmastered if all(p(pre) >= params.threshold for pre in prereq.get(s, ()))] or unmastered
    for skill in sorted(ready, key=lambda s: (p(s), s)):
        pool = [i for i in by_skill[skill] if i.problem_id not in learner.solved]
        if pool:
            pick = _pick(pool, target_difficulty(p(skill), params))
            return Choice(pick.problem_id, skill, "practice", to_master=to_master(p(skill), params),
                          difficulty=pick.difficulty)
    return None


def random_choice(items: Iterable[Item], learner: Learner, rng: random.Random) -> Choice | None:
    """The baseline the simulation compares with: any unsolved problem, in random order."""
    pool = [i for i in items if i.problem_id not in learner.solved]
    if not pool:
        return None
    pick = rng.choice(pool)
    return Choice(pick.problem_id, pick.skill, "random", difficulty=pick.difficulty)
