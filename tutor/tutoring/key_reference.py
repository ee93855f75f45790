"""The answer key from a teacher's worked reference solution: its steps are the solution's
calculations, each value recomputed exactly in a checking worker (`tutor.checking.workkey`); a written
result the recomputation does not confirm is noted for the teacher, never used as the value.

A problem that carries a worked solution needs no model to prepare its key; without one (or when it
cannot be read) the key comes from the model's solution (`tutor.tutoring.key`).
"""

from __future__ import annotations

import functools
import logging
import re
from fractions import Fraction
from typing import Any

from tutor.checking.workers import WorkerError
from tutor.checking.workkey import WorkKeyError, key_from_solution
from tutor.tutoring.key import AnswerKey, KeyStep

log = logging.getLogger(__name__)

_RESULT_RE = re.compile(r"\s*=\s*\$?\s*-?[\d,]*\.?\d+(?:\s?%)?")


def key_from_reference_solution(problem: str, solution: str, timeout: float | None = None) -> AnswerKey:
    """Raises `WorkKeyError` when the solution has no calculation to recompute or no worker can run.
    The key is a pure function of the two texts, so a class starting the same assigned problem computes
    it once (a frozen value, kept for the most recent problems; failures are not kept)."""
    return _cached_key(problem, solution, timeout)


@functools.lru_cache(maxsize=512)
def _cached_key(problem: str, solution: str, timeout: float | None) -> AnswerKey:
    try:
        work = key_from_solution(problem, solution, timeout)
    except WorkerError as exc:
        raise WorkKeyError(f"the reference solution could not be recomputed: {exc}") from None
    steps = []
    for step in work.steps:
        if steps and steps[-1].result == _show(step.value):
            continue
        steps.append(KeyStep(len(steps) + 1, _description(step.text), _show(step.value), computed=True,
                             expression=step.expression))
    answer = _show(work.answer)
    if steps[-1].result != answer:
        steps.append(KeyStep(len(steps) + 1, "Put the pieces together and state the final answer", answer))
    how = "the teacher's worked solution; every step recomputed exactly by the CAS"
    if work.notes:
        how += " (" + "; ".join(work.notes) + ")"
    return AnswerKey(answer, tuple(steps), True, how, "reference", reference_answer=answer,
                     steps_note=f"{len(steps)} steps from the teacher's worked solution",
                     problems=tuple(work.notes))


def reference_solution_key(store: Any, problem_id: int | None, question: str, timeout: float) -> AnswerKey | None:
    """The key from the problem's worked solution, or None when it has none or it cannot be used."""
    if problem_id is None:
        return None
    solution = getattr(store.get_problem(problem_id), "reference_solution", None)
    if not solution:
        return None
    try:
        return key_from_reference_solution(question, solution, timeout)
    except WorkKeyError as exc:
        log.warning("problem %s: the worked solution is not used as the key: %s", problem_id, exc)
        return None


def _description(line: str) -> str:
    """What the step does, in the teacher's words, without the result it reaches."""
    text = re.sub(r"<<[^<>]*>>", "", line)
    text = _RESULT_RE.sub("", text).strip()
    return f"Work out: {text}" if text else "Work out the next quantity"


def _show(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    d = v.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    return f"{float(v):g}" if d == 1 else f"{v.numerator}/{v.denominator}"
