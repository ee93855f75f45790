"""Simulated learners (the BKT generative model: hidden true knowledge, guesses and slips) worked
through the product's next-problem policy and through random order, counting the problems each
needs until the product's own estimate says every skill is mastered."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

from tutor.errors import BadInput
from tutor.practice.policy import Item, Learner, choose, random_choice
from tutor.tutoring.learner import BKTParams, update

PER_SKILL = 80   # problems per skill in the simulated bank, difficulties 1-5 in turn


@dataclass(frozen=True)
class Outcome:
    mean_problems_to_mastery: float
    median: float
    unfinished: int          # learners who hit the cap before mastering every skill

    def to_dict(self) -> dict[str, float | int]:
        return {"mean_problems_to_mastery": round(self.mean_problems_to_mastery, 2), "median": self.median,
                "unfinished": self.unfinished}


def bank(skills: int) -> list[Item]:
    return [Item(problem_id=k * PER_SKILL + j, skill=f"skill_{k + 1}", difficulty=1 + j % 5)
            for k in range(skills) for j in range(PER_SKILL)]


def run_learner(items: list[Item], params: BKTParams, rng: random.Random, adaptive: bool, cap: int) -> tuple[int, bool]:
    """Problems worked until every skill's estimate reaches mastery (or `cap`)."""
    skills = sorted({i.skill for i in items})
    known = {s: rng.random() < params.p_init for s in skills}
    learner = Learner(estimates={s: params.p_init for s in skills})
    estimates = dict(learner.estimates)
    for n in range(1, cap + 1):
        learner.estimates = estimates
        pick = choose(items, learner, params) if adaptive else random_choice(items, learner, rng)
        if pick is None:
            return n - 1, all(estimates[s] >= params.threshold for s in skills)
        skill = pick.skill
        correct = rng.random() < (1 - params.p_slip if known[skill] else params.p_guess)
        estimates[skill] = update(estimates[skill], correct, params)
        learner.solved.add(pick.problem_id)
        if not known[skill]:
            known[skill] = rng.random() < params.p_learn
        if all(estimates[s] >= params.threshold for s in skills):
            return n, True
    return cap, False


def simulate(*, learners: int, skills: int, params: BKTParams, seed: int) -> dict[str, Outcome]:
    if learners < 1 or skills < 1:
        raise BadInput("the simulation needs at least one learner and one skill")
    items = bank(skills)
    out: dict[str, Outcome] = {}
    for name, adaptive in (("adaptive", True), ("random", False)):
        rng = random.Random(seed)   # the same learners (same draws) for both orders
        counts, unfinished = [], 0
        for _ in range(learners):
            n, done = run_learner(items, params, rng, adaptive, cap=len(items))
            counts.append(n)
            unfinished += not done
        out[name] = Outcome(statistics.fmean(counts), statistics.median(counts), unfinished)
    return out
