"""The next-problem policy, the review schedule, what counts as evidence, and fitted BKT parameters."""

from __future__ import annotations

import datetime as dt
import random

from tutor.practice.evidence import is_evidence, trivial_step
from tutor.practice.fit import fit_skill
from tutor.practice.policy import Item, Learner, choose, target_difficulty, to_master
from tutor.practice.review import after_review, first_review
from tutor.tutoring.learner import BKTParams
from tutor.tutoring.state import LiveSession

P = BKTParams()
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
BANK = [Item(1, "fractions", 1), Item(2, "fractions", 3), Item(3, "fractions", 5),
        Item(4, "percentages", 1), Item(5, "percentages", 4)]


def test_weakest_unmastered_skill_at_a_matched_difficulty_and_why():
    learner = Learner(estimates={"fractions": 0.3, "percentages": 0.6})
    pick = choose(BANK, learner, P)
    assert (pick.skill, pick.reason, pick.problem_id) == ("fractions", "practice", 1)
    assert pick.why() == f"You're practising fractions: {to_master(0.3, P)} more to master."
    # closer to mastery: a harder problem of the same skill
    assert target_difficulty(0.85, P) > target_difficulty(0.3, P)
    assert choose(BANK, Learner(estimates={"fractions": 0.85, "percentages": 0.9}), P).problem_id == 3


def test_solved_problems_come_back_only_for_review():
    learner = Learner(estimates={"fractions": 0.3, "percentages": 0.96}, solved={1, 2, 3})
    assert choose(BANK, learner, P) is None          # fractions has nothing unsolved, percentages is mastered
    learner = Learner(estimates={"fractions": 0.97, "percentages": 0.96}, solved={1, 2, 3}, due_reviews=["fractions"])
    pick = choose(BANK, learner, P)
    assert pick.reason == "review" and pick.skill == "fractions" and pick.why().startswith("Review:")


def test_assigned_due_set_first_prerequisites_and_fixed_order():
    due = Item(9, "algebra", assigned=True, due_at=T0)
    learner = Learner(estimates={"fractions": 0.1})
    assert choose(BANK + [due], learner, P).reason == "assigned"
    # algebra waits for arithmetic's fractions when it is a prerequisite
    bank = BANK + [Item(10, "algebra", 2)]
    pick = choose(bank, Learner(estimates={"algebra": 0.05, "fractions": 0.5, "percentages": 0.97}), P,
                  prerequisites={"algebra": ("fractions",)})
    assert pick.skill == "fractions"
    fixed = choose(BANK, Learner(estimates={"fractions": 0.99}, solved={1}), P, order="fixed")
    assert (fixed.problem_id, fixed.why()) == (2, "Next in your class's order.")


def test_review_intervals_grow_and_a_lapse_shortens_them():
    state = first_review("fractions", T0)
    assert state.due_at == T0 + dt.timedelta(days=1)
    days = []
    now = T0
    for _ in range(4):
        now = state.due_at
        state = after_review(state, True, now)
        days.append((state.due_at - now).days)
    assert days == [3, 7, 21, 60]
    lapsed = after_review(state, False, now)
    assert (lapsed.due_at - now).days == 1 and lapsed.lapses == 1


def test_trivial_steps_and_answers_after_the_bottom_out_are_no_evidence():
    problem = "Solve for x: 2x + 3 = 17."
    assert trivial_step("1 = 1", problem) and trivial_step("2x+3 = 2x+3", problem)
    assert trivial_step("2x + 3 = 17", problem)                 # restating the problem
    assert not trivial_step("2x = 14", problem)
    live = LiveSession(id=1, user_id=1, mode="tutor", question=problem)
    assert is_evidence(live, "answer", "7") and not is_evidence(live, "step", "1=1")
    live.bottomed_out = True
    assert not is_evidence(live, "answer", "7")


def _simulate(params: BKTParams, students: int, length: int, rng: random.Random) -> list[list[bool]]:
    out = []
    for _ in range(students):
        known, seq = rng.random() < params.p_init, []
        for _ in range(length):
            seq.append(rng.random() < (1 - params.p_slip if known else params.p_guess))
            known = known or rng.random() < params.p_learn
        out.append(seq)
    return out


def test_fit_recovers_parameters_and_keeps_defaults_without_history():
    truth = BKTParams(p_init=0.1, p_learn=0.3, p_guess=0.25, p_slip=0.05)
    fit = fit_skill("fractions", _simulate(truth, 300, 12, random.Random(5)), P)
    assert fit.fitted and fit.observations == 3600
    assert abs(fit.params.p_learn - 0.3) <= 0.1 and abs(fit.params.p_guess - 0.25) <= 0.1
    assert abs(fit.params.p_slip - 0.05) <= 0.06 and fit.params != P
    few = fit_skill("fractions", [[True, False]], P)
    assert not few.fitted and few.params == P
