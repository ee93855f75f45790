"""Is an answer equivalent to the reference? Strict enough for tutoring, lenient about notation.

Rules (also in the README, "Checking answers and steps"):
- Both sides are read by `tutor.checking.mathtext` (LaTeX through math-verify's parser, plain/Python-style
  student input such as `sqrt(8)`, `2*pi`, `1/2`, `2x+3` through our own reader).
- Equal means equal exactly: same value after simplification, or, for expressions in variables,
  zero difference after simplification (or at five random points to 25 digits when SymPy cannot
  simplify it). Decimals are exact: `0.5` equals `1/2`; `0.33` and `0.333333` do NOT equal `1/3`;
  `50` does NOT equal `0.5` (no percent x100, no rounding leniency).
- Notation that does not change the value is ignored: `x = 2` (or `f(4) = 14`) vs `2`, thousands
  separators (`1,000`), `$`/`\\$`, `%` (a label: `25%` is 25, never 0.25), degree signs, trailing unit
  words (`5 cm`, `12 apples`), `\\text{}`, mixed numbers (`4 2/3` is 14/3), `1.5e3`.
- Several values (`2, 3`, `x = 2 or x = 3`, `x = ±3`, `\\{2, 3\\}`) compare as unordered sets;
  ordered pairs `(1, 2)` keep their order (`x = 1, y = 2` equals `(1, 2)`, variables in alphabetical
  order); intervals compare endpoints and open/closed ends; an inequality `x < 3` (or `-2 < x < 2`)
  equals the interval `(-oo, 3)`; `\\emptyset`, `{}` and `no solution` are the empty set; two
  equations are equal when one is a non-zero multiple of the other (`y = 2x + 1` vs `2x - y + 1 = 0`)
  or, in one variable, have the same solutions.
- Answers that are not math (`Monday`, `(B)`) compare as text, ignoring case, spaces and `\\text{}`.
- Everything runs in a worker process (`tutor.checking.workers`) with our own timeout, so this is safe
  from any thread; pathological input (`10^{10^{10^{10}}}`, 10,000 nested braces, a megabyte of
  digits) gets `equivalent=False` and a reason within the timeout, never a hang.

This module is what callers import; it never imports SymPy. The comparison itself is
`tutor.checking.grading_engine`, which only the worker processes import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tutor.checking.mathtypes import MAX_CHARS, MAX_NESTING
from tutor.checking.workers import RemoteError, WorkerError, WorkerTimeout, get_pool

DEFAULT_TIMEOUT_S = 3.0  # the default of MATHTUTOR_GRADER_TIMEOUT_S; callers with settings pass theirs


@dataclass(frozen=True)
class Verdict:
    equivalent: bool
    reason: str
    # True when the checker itself failed (no worker, a crash): the CLI exits non-zero on it
    internal_error: bool = field(default=False, compare=False)

    def to_dict(self) -> dict:
        return {"equivalent": self.equivalent, "reason": self.reason}


def grade(reference: str, answer: str, timeout: float | None = None) -> Verdict:
    """Compare `answer` with `reference`; returns within `timeout` seconds (default `DEFAULT_TIMEOUT_S`)."""
    reference, answer = str(reference or ""), str(answer or "")
    for label, text in (("reference answer", reference), ("answer", answer)):
        problem = precheck(text)
        if problem:
            return Verdict(False, f"could not read the {label}: {problem}")
    timeout = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
    try:
        equivalent, reason = get_pool().call("tutor.checking.grading_engine:compare", reference, answer,
                                             timeout=timeout)
    except WorkerTimeout:
        return Verdict(False, f"checking took longer than {timeout:g} s, so it was not accepted "
                              "(the expression may be too large to compare)")
    except RemoteError as exc:
        return Verdict(False, f"the checker failed on this input ({exc.type_name})", internal_error=True)
    except WorkerError as exc:
        return Verdict(False, f"the checker is unavailable: {exc}", internal_error=True)
    return Verdict(equivalent, reason)


def mentions_value(text: str, value: str, timeout: float | None = None) -> bool:
    """Does any math in free `text` (`tutor.checking.prose.fragments`) equal `value`?
    On timeout or checker failure: True (assume a leak)."""
    if not text or not str(value).strip():
        return False
    if precheck(str(value)):
        return False
    timeout = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
    try:
        return bool(get_pool().call("tutor.checking.grading_engine:mentions", str(text)[:20000], str(value),
                                    timeout=timeout))
    except WorkerError:
        return True  # the hint guard must fail safe: an unchecked hint is treated as leaking


def precheck(text: str) -> str:
    """Cheap checks in the calling process, so absurd input never reaches a worker."""
    depth = deepest = 0
    for c in text:
        if c in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "})]":
            depth -= 1
    if deepest > MAX_NESTING:
        return f"its brackets are nested too deeply ({deepest} levels)"
    if len(text) > MAX_CHARS:
        return f"it is too long to check ({len(text)} characters; the limit is {MAX_CHARS})"
    return ""
