"""The learner model: Bayesian Knowledge Tracing (Corbett & Anderson 1995), one estimate per skill.

An observation is the learner's *first* attempt at a step of a problem: correct or not. Asking for a
hint before any attempt counts as an incorrect first attempt (the standard convention in Cognitive
Tutor data), so a student who reads the bottom-out and then types the result is not credited.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.errors import BadInput
from tutor.settings import TutoringSettings


@dataclass(frozen=True)
class BKTParams:
    p_init: float = 0.2     # P(L0): knows the skill before any practice
    p_learn: float = 0.15   # P(T): learns it at an opportunity
    p_guess: float = 0.2    # P(G): correct without knowing
    p_slip: float = 0.1     # P(S): wrong despite knowing
    threshold: float = 0.95

    def __post_init__(self) -> None:
        for name in ("p_init", "p_learn", "p_guess", "p_slip", "threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise BadInput(f"BKT parameter {name}={value} must lie between 0 and 1")
        # With guess + slip >= 1 a correct answer would be evidence of *not* knowing the skill.
        if self.p_guess + self.p_slip >= 1.0:
            raise BadInput(f"BKT guess ({self.p_guess}) + slip ({self.p_slip}) must stay below 1")

    @classmethod
    def from_settings(cls, settings: TutoringSettings) -> "BKTParams":
        return cls(p_init=settings.bkt_p_init, p_learn=settings.bkt_p_learn, p_guess=settings.bkt_p_guess,
                   p_slip=settings.bkt_p_slip, threshold=settings.mastery_threshold)


def posterior(p_known: float, correct: bool, params: BKTParams) -> float:
    """P(known | this observation), before the learning transition."""
    if correct:
        num = p_known * (1.0 - params.p_slip)
        den = num + (1.0 - p_known) * params.p_guess
    else:
        num = p_known * params.p_slip
        den = num + (1.0 - p_known) * (1.0 - params.p_guess)
    return num / den if den > 0 else p_known


def update(p_known: float, correct: bool, params: BKTParams) -> float:
    """P(known) after observing one first attempt and the chance to learn from it."""
    post = posterior(p_known, correct, params)
    return post + (1.0 - post) * params.p_learn


@dataclass(frozen=True)
class MasteryChange:
    skill: str
    before: float
    after: float
    correct: bool
    mastered: bool


def observe(skill: str, p_known: float | None, correct: bool, params: BKTParams) -> MasteryChange:
    """Apply one observation to a skill whose estimate is `p_known` (None: never seen, use P(L0))."""
    before = params.p_init if p_known is None else p_known
    after = update(before, correct, params)
    return MasteryChange(skill=skill, before=before, after=after, correct=correct,
                         mastered=after >= params.threshold)
