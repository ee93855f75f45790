"""BKT against a hand-computed example, and skill tagging from the fixed list."""

from __future__ import annotations

import pytest

from tutor.errors import BadInput
from tutor.tutoring.learner import BKTParams, observe, posterior, update
from tutor.settings import load_settings
from tutor.tutoring.skills import SKILLS, normalize_skill, parse_skill, tag_problem

PARAMS = BKTParams(p_init=0.2, p_learn=0.15, p_guess=0.2, p_slip=0.1)


def test_bkt_matches_hand_computed_sequence():
    # Correct first attempt from P(L0)=0.2:
    #   P(L|correct) = 0.2*0.9 / (0.2*0.9 + 0.8*0.2) = 0.18/0.34 = 9/17
    #   P(L1) = 9/17 + (8/17)*0.15 = 10.2/17 = 0.6
    assert posterior(0.2, True, PARAMS) == pytest.approx(9 / 17)
    p1 = update(0.2, True, PARAMS)
    assert p1 == pytest.approx(0.6)
    # Then a wrong first attempt (or a hint request):
    #   P(L|wrong) = 0.6*0.1 / (0.6*0.1 + 0.4*0.8) = 0.06/0.38 = 3/19
    #   P(L2) = 3/19 + (16/19)*0.15 = 5.4/19
    p2 = update(p1, False, PARAMS)
    assert p2 == pytest.approx(5.4 / 19)
    # Three correct first attempts from there (worked by hand to 4 places):
    #   0.2842 -> 0.6412 posterior -> 0.6950;  0.6950 -> 0.9111 -> 0.9245;  0.9245 -> 0.9822 -> 0.9848
    # so the 0.95 threshold is crossed only at the third.
    seq, p = [], p2
    for expected in (0.6950, 0.9245, 0.9848):
        change = observe("algebra", p, True, PARAMS)
        assert change.after == pytest.approx(expected, abs=5e-5)
        seq.append(change.mastered)
        p = change.after
    assert seq == [False, False, True]


def test_first_observation_starts_from_prior():
    change = observe("geometry", None, False, PARAMS)
    assert change.before == 0.2
    # 0.2*0.1/(0.02+0.8*0.8) = 0.02/0.66; + (0.64/0.66)*0.15
    assert change.after == pytest.approx(0.02 / 0.66 + (0.64 / 0.66) * 0.15)
    assert not change.mastered


def test_params_come_from_settings_and_are_validated():
    s = load_settings(bkt_p_init=0.5, mastery_threshold=0.9)
    p = BKTParams.from_settings(s.tutoring)
    assert (p.p_init, p.threshold) == (0.5, 0.9)
    with pytest.raises(BadInput):
        BKTParams(p_guess=0.6, p_slip=0.5)
    with pytest.raises(BadInput):
        BKTParams(p_init=1.5)


def test_skill_tags_prefer_teacher_then_subject_then_model_then_keywords():
    assert tag_problem("x", tags=["Number Theory", "bogus"]) == ["number_theory"]
    assert tag_problem("x", subject="Counting & Probability") == ["counting_probability"]
    assert tag_problem("Solve 2x+3=7", ask_model=lambda q: "Intermediate algebra.") == ["intermediate_algebra"]
    assert tag_problem("What is the remainder when 100 is divided by 7?") == ["number_theory"]
    assert tag_problem("Find the area of a circle of radius 3", ask_model=lambda q: "no idea") == ["geometry"]

    def broken(q):
        raise RuntimeError("model down")
    assert tag_problem("Solve for x: 2x + 3 = 7", ask_model=broken) == ["algebra"]


def test_skill_names_are_fixed():
    assert normalize_skill("Precalculus") == "precalculus"
    with pytest.raises(BadInput):
        normalize_skill("astrology")
    assert parse_skill("algebra") == "algebra"
    assert parse_skill("It is counting and probability") == "counting_probability"
    assert set(SKILLS) >= {"algebra", "geometry", "number_theory", "precalculus"}
