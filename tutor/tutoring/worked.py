"""A student's whole worked solution, pasted in tutoring mode: checked against the session's key
(`tutor.checking.work`), answered with a focused question about the first line that departs from every
correct path, the way MathDial's teachers open. The question never carries the answer: it passes the
same guard as every hint, and falls back to naming the line by its words.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from tutor.checking.workers import WorkerError
from tutor.checking.worklines import split_work
from tutor.errors import BadInput
from tutor.tutoring.session import Check, say
from tutor.tutoring.state import LiveSession

log = logging.getLogger(__name__)


def check_worked(live: LiveSession, text: str, timeout: float, check_timeout: float, store: Any,
                 max_lines: int) -> Check:
    """verdict correct | incorrect | unchecked; `first_bad_line` is the departing line (1-based, non-empty lines)."""
    from tutor.checking.work import check_work
    from tutor.checking.workkey import WorkKeyError, key_from_solution, key_from_steps

    lines = split_work(text)
    if not lines:
        raise BadInput("there is no work to check")
    if len(lines) > max_lines:
        raise BadInput(f"at most {max_lines} lines can be checked at once")
    key = live.key
    if key is None or not key.answer or not key.gradable:
        return Check("unchecked", "I have no checked solution to compare your work with, so your teacher will look "
                                  "at it. You can still have each of your steps checked.")
    solution = getattr(store.get_problem(live.problem_id), "reference_solution", None) if live.problem_id else None
    try:
        work_key = None
        if solution:
            try:
                work_key = key_from_solution(live.question, solution, check_timeout)
            except WorkKeyError:
                work_key = None
        if work_key is None:
            work_key = key_from_steps(live.question, key.answer, [(s.description, s.result) for s in key.steps])
        verdict = check_work(text, work_key, check_timeout)
    except WorkerError as exc:
        log.warning("session %s: worked solution not checked: %s", live.id, exc)
        return Check("unchecked", "I couldn't check your work just now; please try again in a moment.")
    if verdict.correct:
        return Check("correct", say(live, "Every line of your work checks out, and it reaches the answer — well done!",
                                    "Every line of your work checks out, and it reaches the answer — well done!",
                                    timeout), solved=True)
    n = verdict.first_wrong_line
    if n is None:
        return Check("incorrect", say(live, verdict.feedback, "I can't find where your work gives its answer. Which "
                                                              "line works out what the question asks for?", timeout))
    return Check("incorrect", say(live, verdict.feedback, _by_words(verdict.line_text or lines[n - 1]), timeout),
                 first_bad_line=n)


def _by_words(line: str) -> str:
    """The question naming the line by its words only, when even its number could give a value away."""
    words = re.sub(r"[^A-Za-z' ]+", " ", line).split()
    start = " ".join(words[:6]) or "the line where your work changes direction"
    return (f"Look again at the line that starts “{start}…”. What does the quantity you found there count, "
            "and is that what the problem needs at that point?")
