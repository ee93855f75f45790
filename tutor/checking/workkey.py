"""What a worked solution is checked against: the key's quantities (each step's value, the numbers it
combines, the words for what it counts) and the problem's givens.

From a teacher's worked reference solution (GSM8K-style `12+3=15` lines, MathDial's prose lines, or
GSM8K's `<<12+3=15>>` annotations), every step's value is recomputed exactly in a checking worker
from the numbers the line combines; the written result is never trusted. From the model's key, the
values its executed program computed. No SymPy here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable

from tutor.checking.grader import DEFAULT_TIMEOUT_S
from tutor.checking.workers import WorkerError, get_pool
from tutor.checking.worklines import LineMath, content_words, numbers_of, read_line, split_work

# Unit factors a correct solution may scale by (minutes/hours, cents/dollars, feet/yards/inches, ...).
UNIT_FACTORS = (Fraction(60), Fraction(3600), Fraction(100), Fraction(1000), Fraction(12), Fraction(3),
                Fraction(24), Fraction(7), Fraction(16), Fraction(36), Fraction(52), Fraction(365))
# The words that make a unit factor plausible in a line (3 is feet in a yard only where yards are about).
UNIT_WORDS = {60: ("minute", "second", "hour", "min", "sec"), 3600: ("second", "hour"),
              100: ("cent", "percent", "%", "meter", "metre", "cm"), 1000: ("gram", "kg", "meter", "metre", "km",
                                                                           "ml", "liter", "litre", "mb", "gb"),
              12: ("inch", "foot", "feet", "dozen", "month", "year"), 3: ("yard", "feet", "foot", "yd", "ft"),
              24: ("hour", "day"), 7: ("day", "week"), 16: ("ounce", "pound", "oz", "lb"), 36: ("inch", "yard"),
              52: ("week", "year"), 365: ("day", "year")}
# Numbers any solution may bring in without the problem stating them.
CONSTANTS = frozenset({Fraction(0), Fraction(1), Fraction(2), Fraction(10), Fraction(100), Fraction(1, 2)}
                      | set(UNIT_FACTORS))


class WorkKeyError(ValueError):
    """The reference solution cannot serve as a key (no calculation in it, or a worker failure)."""


@dataclass(frozen=True)
class KeyQuantity:
    value: Fraction
    operands: tuple[Fraction, ...] = ()
    words: frozenset[str] = field(default_factory=frozenset)
    text: str = ""           # the reference line, or the key step's words
    expression: str = ""     # what was computed ("12 + 3")


@dataclass(frozen=True)
class WorkKey:
    answer: Fraction | None
    steps: tuple[KeyQuantity, ...]
    givens: frozenset[Fraction]
    notes: tuple[str, ...] = ()   # a written result the recomputation did not confirm, and the like

    @property
    def values(self) -> frozenset[Fraction]:
        return frozenset(s.value for s in self.steps) | ({self.answer} if self.answer is not None else set())


@dataclass
class Calc:
    """One calculation of a line, evaluated: the value its first side computes, what the other sides claim."""
    line: int
    sides: tuple[str, ...]
    values: list[Fraction | None]
    unknown_value: Fraction | None
    operands: tuple[Fraction, ...]
    contradiction: bool = False   # an equation in the unknown that no value satisfies

    @property
    def result(self) -> Fraction | None:
        if self.unknown_value is not None:
            return self.unknown_value
        known = [v for v in self.values if v is not None]
        return known[-1] if known else None

    @property
    def computed(self) -> Fraction | None:
        return self.unknown_value if self.unknown_value is not None else self.values[0]


def evaluated(lines: list[LineMath], timeout: float | None = None) -> list[list[Calc]]:
    """Every line's calculations with exact values, in one worker call."""
    flat = [(li, c) for li, line in enumerate(lines) for c in line.chains]
    timeout = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
    results = get_pool().call("tutor.checking.work_engine:evaluate",
                              [(c.sides, bool(c.unknown)) for _, c in flat], timeout=max(timeout, 2.0 + 0.05 * len(flat)))
    out: list[list[Calc]] = [[] for _ in lines]
    for (li, chain), (values, unknown, contradiction) in zip(flat, results):
        operands = tuple(Fraction(exact_number(n)) for n in _NUM_RE.findall(chain.sides[0] if not chain.unknown
                                                                       else " ".join(chain.sides)))
        out[li].append(Calc(lines[li].index, chain.sides, values, unknown, operands, contradiction))
    return out


def as_value(text: str) -> Fraction | None:
    """A plain number ("18", "$1,250.50", "7.5", "3/4", "40%") exactly, or None."""
    nums = numbers_of(str(text or ""))
    if not nums:
        return None
    try:
        return Fraction(exact_number(nums[-1]))
    except (ValueError, ZeroDivisionError):
        return None


def problem_givens(problem: str) -> frozenset[Fraction]:
    out = set()
    for n in numbers_of(problem or ""):
        try:
            out.add(Fraction(exact_number(n)))
        except (ValueError, ZeroDivisionError):
            continue
    return frozenset(out)


def key_from_solution(problem: str, solution: str, timeout: float | None = None) -> WorkKey:
    """The key from a teacher's worked reference solution: one step per calculation, its value
    recomputed from the numbers it combines; the answer is the last line's number (`#### 18`, or a
    last line that is just the answer), else the last step's value."""
    text = _GSM8K_CALC_RE.sub("", str(solution or ""))
    answer_text = None
    marked = re.search(r"####\s*(.+)\s*$", text)
    if marked:
        answer_text, text = marked.group(1), text[:marked.start()]
    lines = [read_line(line, i + 1) for i, line in enumerate(split_work(text))]
    if answer_text is None and lines and not lines[-1].chains and len(lines[-1].numbers) == 1 \
            and re.fullmatch(r"[\s$\\\d.,/%-]+", lines[-1].text):
        answer_text = lines[-1].text
    try:
        calcs = evaluated(lines, timeout)
    except WorkerError as exc:
        raise WorkKeyError(f"the reference solution could not be recomputed: {exc}") from None
    steps: list[KeyQuantity] = []
    notes: list[str] = []
    for line, line_calcs in zip(lines, calcs):
        for calc in line_calcs:
            value = calc.computed
            if value is None:
                continue
            claimed = [v for v in calc.values[1:] if v is not None]
            steps.append(KeyQuantity(value, calc.operands, line.words, line.text, calc.sides[0]))
            if claimed and not any(close_enough(value, c) for c in claimed):
                notes.append(f"line {line.index}: {calc.sides[0]} is {_show(value)}, not {_show(claimed[-1])}")
                later = [o for other in calcs[line.index:] for c in other for o in c.operands]
                if claimed[-1] in later:   # the rest of the solution builds on the written value
                    steps.append(KeyQuantity(claimed[-1], calc.operands, line.words, line.text, calc.sides[0]))
    if not steps:
        raise WorkKeyError("the reference solution has no calculation to recompute")
    answer = as_value(answer_text) if answer_text is not None else steps[-1].value
    if answer is None:
        raise WorkKeyError(f"could not read the reference solution's answer {answer_text!r}")
    if not any(close_enough(s.value, answer) for s in steps):
        notes.append(f"the stated answer {_show(answer)} is not the value of any recomputed step")
    return WorkKey(answer, tuple(steps), problem_givens(problem), tuple(notes))


def key_from_steps(problem: str, answer: str | None, steps: Iterable[tuple[str, str]]) -> WorkKey:
    """The key from a prepared answer key: (what the step does, its computed result) pairs."""
    out = []
    for words, result in steps:
        value = as_value(result)
        if value is not None:
            out.append(KeyQuantity(value, (), content_words(words), words))
    return WorkKey(as_value(answer or ""), tuple(out), problem_givens(problem))


def close_enough(exact: Fraction, written: Fraction) -> bool:
    """Equal, or `written` is `exact` rounded to the decimals it shows (100/3 written 33.33)."""
    if exact == written:
        return True
    digits = len(_decimals(written))
    if digits == 0 or digits > 6:
        return abs(exact - written) <= Fraction(1, 2) and exact.denominator != 1 and written.denominator == 1 \
            and abs(exact) > 10
    return abs(exact - written) <= Fraction(1, 2 * 10 ** digits)


def _decimals(v: Fraction) -> str:
    for d in range(7):
        if (v * 10 ** d).denominator == 1:
            return "0" * d
    return "0" * 7


def _show(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{float(v):g}"


def exact_number(n: str) -> Fraction:
    """A number as `worklines` writes it (`12`, `1.5`, `(2/5)`, `((20)/100)`), exactly."""
    m = re.fullmatch(r"\(*(-?[\d.]+)\)?\s*/\s*\(?([\d.]+)\)*", n.strip())
    if m:
        return Fraction(m.group(1)) / Fraction(m.group(2))
    return Fraction(n.strip().strip("()"))


_NUM_RE = re.compile(r"\d+(?:\.\d+)?")
_GSM8K_CALC_RE = re.compile(r"<<[^<>]*>>")
