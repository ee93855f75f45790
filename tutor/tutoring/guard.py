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
from typing import Any, Mapping, Sequence

from tutor.checking.prose import claimed_equalities

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
               timeout: float, runner: Any | None = None) -> GuardVerdict:
    """Does `text` give away `answer` or any of `step_results` (a mapping labels them by step number)?
    With `runner` (a kernel), the equalities the text claims are re-done and a false one is refused."""
    hidden: dict[str, str] = {}
    if answer and str(answer).strip():
        hidden["final answer"] = str(answer)
    items = step_results.items() if isinstance(step_results, Mapping) else enumerate(step_results, start=1)
    for index, value in items:
        if value and str(value).strip():
            label = f"step {index} result" if isinstance(step_results, Mapping) else f"step result {index}"
            hidden.setdefault(label, str(value))
    leaked = tuple(label for label, value in hidden.items() if mentions(text, value, timeout))
    claims = tuple(check_claims(text, runner, timeout=max(timeout, 10.0))) if runner is not None else ()
    wrong = tuple(c.claim for c in claims if c.holds is False)
    reasons = (["gives away " + ", ".join(leaked)] if leaked else []) + (
        ["wrong claim: " + "; ".join(wrong)] if wrong else [])
    return GuardVerdict(bool(leaked), "; ".join(reasons), leaked, wrong, claims)


# --- does the text state a value? -------------------------------------------------------------------

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
    pairs = claimed_equalities(text)
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
