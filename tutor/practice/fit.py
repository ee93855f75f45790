"""BKT parameters fitted per skill from a class's attempt history (the first-attempt observations the
learner model recorded): the grid point with the highest likelihood of every student's sequence.
Skills with too little history keep the defaults."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Sequence

from tutor.tutoring.learner import BKTParams

MIN_OBSERVATIONS = 20
_INIT = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_LEARN = (0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5)
_GUESS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
_SLIP = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass(frozen=True)
class Fit:
    skill: str
    params: BKTParams
    observations: int
    students: int
    fitted: bool               # False: too little history, the defaults stay
    log_likelihood: float = 0.0


def fitted_params(store, class_id: int | None, skill: str, defaults: BKTParams) -> BKTParams:
    """The class's fitted parameters for the skill (`mathtutor learner fit`), else the defaults."""
    if class_id is not None:
        for fit in store.bkt_fits(class_id):
            if fit.skill == skill:
                return BKTParams(fit.p_init, fit.p_learn, fit.p_guess, fit.p_slip, defaults.threshold)
    return defaults


def log_likelihood_grid(sequences: Sequence[Sequence[bool]]):
    """(grid, log-likelihood of all sequences at each grid point), computed for the whole grid at once."""
    import numpy as np

    grid = np.array([g for g in itertools.product(_INIT, _LEARN, _GUESS, _SLIP) if g[2] + g[3] < 1.0])
    init, learn, guess, slip = grid.T
    total = np.zeros(len(grid))
    for seq in sequences:
        known = init.copy()
        for correct in seq:
            p_correct = known * (1 - slip) + (1 - known) * guess
            if correct:
                total += np.log(p_correct)
                post = known * (1 - slip) / p_correct
            else:
                total += np.log(1 - p_correct)
                post = known * slip / (1 - p_correct)
            known = post + (1 - post) * learn
    return grid, total


def fit_skill(skill: str, sequences: Iterable[Sequence[bool]], defaults: BKTParams) -> Fit:
    seqs = [list(s) for s in sequences if s]
    n = sum(len(s) for s in seqs)
    if n < MIN_OBSERVATIONS:
        return Fit(skill, defaults, n, len(seqs), fitted=False)
    grid, ll = log_likelihood_grid(seqs)
    best = int(ll.argmax())
    p_init, p_learn, p_guess, p_slip = (float(v) for v in grid[best])
    params = BKTParams(p_init=p_init, p_learn=p_learn, p_guess=p_guess, p_slip=p_slip, threshold=defaults.threshold)
    return Fit(skill, params, n, len(seqs), fitted=True, log_likelihood=float(ll[best]))


def class_sequences(store, class_id: int) -> dict[str, list[list[bool]]]:
    """skill -> each student's first-attempt observations, oldest first (manual changes left out)."""
    out: dict[str, list[list[bool]]] = {}
    for student in store.class_students(class_id):
        per_skill: dict[str, list[bool]] = {}
        for row in store.mastery_history(student.id):
            if row.cause in ("attempt", "answer", "step", "hint"):
                per_skill.setdefault(row.skill, []).append(bool(row.correct))
        for skill, seq in per_skill.items():
            out.setdefault(skill, []).append(seq)
    return out


def fit_class(store, class_id: int, defaults: BKTParams, *, save: bool = True) -> list[Fit]:
    fits = [fit_skill(skill, seqs, defaults) for skill, seqs in sorted(class_sequences(store, class_id).items())]
    if save:
        for f in fits:
            if f.fitted:
                p = f.params
                store.save_bkt_fit(class_id, f.skill, (p.p_init, p.p_learn, p.p_guess, p.p_slip),
                                   observations=f.observations)
    return fits
