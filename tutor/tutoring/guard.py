"""The answer-leak guard: may this text be shown to a student who has not yet found these values?

One public function, `check_hint`, used for every text the tutor shows in tutoring mode (hints,
replies, feedback, fixed messages) and by `mathtutor check-hint`. A text leaks when any math in it
states the final answer or a hidden step result (compared symbolically by the grader, on the text as
written and on its maths with the prose taken out). With a kernel runner, the arithmetic the text
claims is re-done too, so a hint with wrong arithmetic is refused as well. Any checker failure
counts as a leak: the guard fails safe.
"""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping, Sequence

from tutor.checking.prose import claimed_equalities
from tutor.tutoring.numerals import as_digits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimCheck:
    claim: str
    holds: bool | None   # None: could not be checked (unknowns, unreadable, no kernel)


@dataclass(frozen=True)
class GuardVerdict:
    leak: bool
    reason: str = ""
    leaked: tuple[str, ...] = ()          # labels of what leaked ("final answer", "step 2 result"), never values
    wrong_claims: tuple[str, ...] = ()    # arithmetic the text claims that the kernel found false
    claims: tuple[ClaimCheck, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Safe to show: nothing leaks and no claimed arithmetic is wrong."""
        return not self.leak and not self.wrong_claims

    def to_dict(self) -> dict[str, Any]:
        return {"leak": self.leak, "reason": self.reason, "leaked": list(self.leaked),
                "wrong_claims": list(self.wrong_claims)}


def check_hint(text: str, answer: str | None, step_results: Sequence[str] | Mapping[int, str] = (), *,
               timeout: float, runner: Any | None = None, problem: str = "") -> GuardVerdict:
    """Does `text` give away `answer` or any of `step_results` (a mapping labels them by step number)?
    Numbers in words and other spellings count ("seven point five", "15/2", "7½"). A number the
    `problem` itself gives ("divide both sides by 2" when the answer is also 2) is no leak unless it
    stands where a result would ("the answer is 2"). With `runner` (a kernel), the equalities the text
    claims are re-done and a false one is refused."""
    text = as_digits(text)
    hidden: dict[str, str] = {}
    if answer and str(answer).strip():
        hidden["final answer"] = str(answer)
    items = step_results.items() if isinstance(step_results, Mapping) else enumerate(step_results, start=1)
    for index, value in items:
        if value and str(value).strip():
            label = f"step {index} result" if isinstance(step_results, Mapping) else f"step result {index}"
            hidden.setdefault(label, str(value))
    givens = _numbers_of(as_digits(problem))
    readable = _without_givens(text, givens)
    leaked = tuple(label for label, value in hidden.items()
                   if _names_number(readable, value, givens) or mentions(readable, value, timeout))
    claims = tuple(check_claims(text, runner, timeout=max(timeout, 10.0))) if runner is not None else ()
    wrong = tuple(c.claim for c in claims if c.holds is False)
    reasons = (["gives away " + ", ".join(leaked)] if leaked else []) + (
        ["wrong claim: " + "; ".join(wrong)] if wrong else [])
    return GuardVerdict(bool(leaked), "; ".join(reasons), leaked, wrong, claims)


# --- does the text state a value? -------------------------------------------------------------------

_NUMBER = re.compile(r"(?<!\w)(?<!\d\.)\d+(?:\.\d+)?(?:/\d+)?(?!\w|\.\d|/\d)")
_OPERATOR = "+-*/^×÷"
# words (or signs) right before a number that make it a result: "the answer is 2", "you get 2", "x = 2"
_RESULT_BEFORE = re.compile(r"(?:\b(?:is|are|was|equals?|get|gets|got|gives?|makes?|answer|result|total|be|"
                            r"becomes?|leaves?|with)|[=:→]|=>)\s*$", re.I)
_RESULT_AFTER = re.compile(r"^\s*(?:is|are|was|=)(?!\w)", re.I)


def _value(token: str) -> Fraction | None:
    try:
        return Fraction(token)
    except (ValueError, ZeroDivisionError):
        return None


def _numbers_of(problem: str) -> set[Fraction]:
    """The numbers a problem gives (thousands separators dropped)."""
    return {v for m in _NUMBER.finditer(re.sub(r"(?<=\d),(?=\d{3}\b)", "", problem))
            if (v := _value(m.group(0))) is not None}


def _bare(text: str, start: int, end: int) -> bool:
    """A number standing alone, not an operand inside an expression or a side of an equation."""
    left, right = text[:start].rstrip(" $"), text[end:].lstrip(" $")
    if right[:1] and (right[0] in _OPERATOR + "=(<>}" or right[0].isdigit()):
        return False
    if left[-1:] == "{" or re.search(r"\\[A-Za-z]+$", left):     # inside LaTeX: \frac{21}{3}, 2 \cdot 3
        return False
    if left[-1:] and left[-1] in _OPERATOR:
        before = left[:-1].rstrip()
        # "x + 3", "2) * 3" are expressions; "undo the + 3" is not
        return not (before[-1:].isdigit() or before[-1:] == ")" or re.search(r"(?<![A-Za-z])[A-Za-z]$", before))
    return not (left[-1:] in "=<>(" and left[-1:] != "")


def _without_givens(text: str, givens: set[Fraction]) -> str:
    """`text` with the problem's own numbers taken out where they stand alone and are not results, and
    with the divisor of "divide both sides by N" (a coefficient the problem shows)."""
    out, last = [], 0
    for m in _NUMBER.finditer(text):
        before = text[:m.start()]
        given = _value(m.group(0)) in givens or re.search(r"both\s+sides\s+by\s*\$?\s*$", before, re.I)
        if given and _bare(text, m.start(), m.end()) and not _RESULT_BEFORE.search(before) \
                and not _RESULT_AFTER.match(text[m.end():]):
            out += [text[last:m.start()], "it"]
            last = m.end()
    return "".join(out) + text[last:]


def _names_number(text: str, value: str, givens: set[Fraction]) -> bool:
    """Is `value` (a plain number the problem does not give) written anywhere in `text`, even inside an
    expression (`2(7) + 3 = 17` shows the answer 7 although no side of it equals 7)?"""
    target = _value(value.strip().strip("$"))
    return target is not None and target not in givens and \
        any(_value(m.group(0)) == target for m in _NUMBER.finditer(text))

def _literal(value: str) -> str:
    v = re.sub(r"\\left|\\right|\\!|\\,|\s+|\$", "", value)
    return v.strip("{}")


def mentions(text: str, value: str, timeout: float) -> bool:
    """Does `text` state `value`? Symbolically (the grader compares every fragment of math the prose
    reader finds, `tutor.checking.prose.fragments`); a literal match as a belt and braces. Fails safe
    (True) on errors."""
    from tutor.checking.grader import mentions_value

    lit = _literal(value)
    # a literal hit counts only for values long enough not to appear by accident inside other numbers
    if len(lit) >= 3 and lit in re.sub(r"\\left|\\right|\s+|\$", "", text):
        return True
    try:
        return bool(mentions_value(text, value, timeout=timeout))
    except Exception:  # noqa: BLE001 - the grader failing must not let a hint through unchecked
        log.warning("mentions_value failed; treating the text as leaking", exc_info=True)
        return True


# --- claims re-done in the kernel -------------------------------------------------------------------

_CLAIM_CODE = """\
from sympy import simplify as _simplify
from sympy.parsing.sympy_parser import parse_expr as _parse, standard_transformations as _st, \\
    implicit_multiplication_application as _imp, convert_xor as _xor
_claims = {claims!r}
_verdicts = []
for _a, _b in _claims:
    try:
        _ea = _parse(_a, transformations=_st + (_imp, _xor)); _eb = _parse(_b, transformations=_st + (_imp, _xor))
        _d = _simplify(_ea - _eb)
        # only a claim without unknowns can be false; with unknowns it may be an equation to solve
        _verdicts.append(True if _d == 0 else (False if not (_ea.free_symbols | _eb.free_symbols) else None))
    except Exception:
        _verdicts.append(None)
print(_verdicts)
"""


def check_claims(text: str, runner: Any | None, timeout: float = 10.0) -> list[ClaimCheck]:
    """Re-do in the kernel the arithmetic the text claims; [] when it claims none."""
    pairs = claimed_equalities(as_digits(text))
    if not pairs:
        return []
    if runner is None:
        return [ClaimCheck(f"{a} = {b}", None) for a, b in pairs]
    try:
        result = runner.run(_CLAIM_CODE.format(claims=pairs), timeout=timeout)
        verdicts = ast.literal_eval(result.stdout.strip().splitlines()[-1]) \
            if result.error is None and result.stdout.strip() else None
    except Exception:  # noqa: BLE001 - a kernel problem leaves the claims unchecked, not the hint refused
        log.warning("claim check failed", exc_info=True)
        verdicts = None
    if not isinstance(verdicts, list) or len(verdicts) != len(pairs):
        return [ClaimCheck(f"{a} = {b}", None) for a, b in pairs]
    return [ClaimCheck(f"{a} = {b}", v if v in (True, False) else None) for (a, b), v in zip(pairs, verdicts)]
