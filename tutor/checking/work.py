"""Checking a student's whole worked solution against the key: is it correct, which line first departs
from every correct path, what kind of confusion that is, and a focused question about that line.

A line departs when its arithmetic is wrong, or when it reaches a quantity that no correct path needs
and the rest of the work builds on it (a dead end that nothing uses is not where the work went wrong).
Quantities are aligned with the key's steps by value (exactly, or scaled by a unit factor) and by what
they count (the words of the line against the key step's). Work that reaches the key's answer with
correct arithmetic is correct, whatever way it went. No SymPy here: values come from
`tutor.checking.workkey.evaluated`, in a worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from tutor.checking.workkey import (CONSTANTS, UNIT_FACTORS, UNIT_WORDS, Calc, WorkKey, close_enough, evaluated,
                                    exact_number)
from tutor.checking.worklines import LineMath, read_work

Kind = Literal["arithmetic", "wrong_operation", "unit_slip", "misread_quantity", "extra_step", "missing_step",
               "unneeded_quantity", "no_answer"]
KINDS: tuple[str, ...] = ("arithmetic", "wrong_operation", "unit_slip", "misread_quantity", "extra_step",
                          "missing_step", "unneeded_quantity", "no_answer")


@dataclass(frozen=True)
class WorkVerdict:
    correct: bool
    first_wrong_line: int | None     # 1-based among the non-empty lines
    kind: str | None
    feedback: str
    line_text: str = ""
    answer_found: str | None = None  # the student's final value, as written

    def to_dict(self) -> dict:
        return {"correct": self.correct, "first_wrong_line": self.first_wrong_line, "kind": self.kind,
                "feedback": self.feedback}


@dataclass
class _Line:
    math: LineMath
    calcs: list[Calc]
    loose: list[Fraction]

    @property
    def values(self) -> list[Fraction]:
        out = [c.result for c in self.calcs if c.result is not None] + self.loose
        return out + [o for c in self.calcs for o in c.operands]


def check_work(work: str, key: WorkKey, timeout: float | None = None) -> WorkVerdict:
    """Judge `work` (one step or sentence per line) against `key`. Raises `WorkerError` when no
    checking worker could evaluate the lines."""
    maths = read_work(work)
    if not maths:
        return WorkVerdict(False, None, "no_answer", "Write out your work, one step per line, and I'll look at it.")
    calcs = evaluated(maths, timeout)
    lines = [_Line(m, c, [_value(n) for n in m.numbers if _value(n) is not None] + _stated_in_identities(c))
             for m, c in zip(maths, calcs)]
    final = _final(lines)
    slips = [(i, ln, c) for i, ln in enumerate(lines) for c in ln.calcs if _wrong_arithmetic(c)]
    arithmetic = (slips[0][1], slips[0][2]) if slips else None
    # a slip whose written result is the key's own value, or that nothing after it uses, does not
    # stop work that reaches the answer from being correct (MathDial's own references have such slips)
    harmful = [s for s in slips if s[2].contradiction or not _on_path(_claimed(s[2]), key.values)
               and _claimed(s[2]) in [v for other in lines[s[0] + 1:] for v in other.values]]
    if final is not None and key.answer is not None and close_enough(key.answer, final) and not harmful:
        return WorkVerdict(True, None, None, "Every line checks out, and it reaches the answer.", "", _show(final))
    found = _departure(lines, key, final)
    if arithmetic is not None and (found is None or arithmetic[0].math.index <= found[0].math.index):
        found = (arithmetic[0], "arithmetic", arithmetic[1])
    if found is None:
        if final is None:
            return WorkVerdict(False, len(lines), "no_answer", _question("no_answer", len(lines), None, key), "")
        ln = _conclusion(lines, final)
        found = (ln, "unneeded_quantity", None)
    ln, kind, calc = found
    return WorkVerdict(False, ln.math.index, kind, _question(kind, ln.math.index, calc, key), ln.math.text,
                       _show(final) if final is not None else None)


def _departure(lines: list[_Line], key: WorkKey, final: Fraction | None) -> tuple[_Line, str, Calc | None] | None:
    """The first line whose quantity leaves every correct path and that the rest of the work uses."""
    good = key.values
    known = set(good) | set(key.givens) | set(CONSTANTS)
    if final is not None and key.answer is not None:
        factor = _unit_factor(final, key.answer, " ".join(ln.math.text for ln in lines))
        if factor is not None:   # worked consistently in another unit: the slip is not converting back
            return _conclusion(lines, final), "unit_slip", None
        if final in good and not close_enough(key.answer, final):
            stop = _conclusion(lines, final)
            earlier = _departure_in(lines[:lines.index(stop)], lines, key, known, good, final)
            return earlier or (stop, "missing_step", None)
    return _departure_in(lines, lines, key, known, good, final)


def _departure_in(scan: list[_Line], lines: list[_Line], key: WorkKey, known: set, good: frozenset,
                  final: Fraction | None) -> tuple[_Line, str, Calc | None] | None:
    for i, ln in enumerate(scan):
        after = lines[i + 1:]
        for calc in ln.calcs:
            r = calc.result
            if r is None or _reached(calc, key):
                known.update(calc.operands)
                if r is not None:
                    known.add(r)
                continue
            if _leads_astray(r, after, good, key, final) or ln is lines[-1]:
                reached = any(c.result == key.answer for other in lines[:lines.index(ln)] for c in other.calcs)
                return ln, _classify(calc, key, known, ln.math.text, reached), calc
            known.add(r)
            known.update(calc.operands)
        for v in ln.loose:
            if v in known or _on_path(v, good):
                continue
            if _leads_astray(v, after, good, key, final):
                return ln, "misread_quantity", None
            known.add(v)
    return None


def _leads_astray(v: Fraction, after: list[_Line], good: frozenset, key: WorkKey, final: Fraction | None) -> bool:
    """Does the rest of the work build on `v` towards a wrong result? A quantity no correct path has is
    still another valid way when everything computed from it is on the key's path (200 x 1.2 = 240)."""
    if final is not None and abs(v - final) < 1:
        return True
    for ln in after:
        for calc in ln.calcs:
            if v in calc.operands and calc.result is not None and (calc.result == final or not _reached(calc, key)):
                return True
    return False


def _classify(calc: Calc, key: WorkKey, known: set, text: str, reached: bool = False) -> str:
    """The kind of confusion of a departing calculation (`reached`: the key's answer was computed before)."""
    r = calc.result
    good = key.values
    if any(_unit_factor(r, k, text) for k in good):
        return "unit_slip"
    ops = calc.operands
    if any(o not in known and not any(_unit_factor(o, k, text) for k in good | key.givens) for o in ops):
        return "misread_quantity"
    if any(_unit_factor(o, k, text) for o in ops for k in good | key.givens if o not in known):
        return "unit_slip"
    if key.answer is not None and key.answer in ops and (reached or key.answer not in key.givens):
        return "extra_step"
    pairs = [(a, b) for i, a in enumerate(ops) for b in ops[i + 1:]]
    for a, b in pairs:
        if any(v in good for v in _combinations(a, b)):
            return "wrong_operation"
    for o in ops:
        for step in key.steps:
            if o in step.operands and step.value != o:
                swapped = [step.value if x == o else x for x in ops]
                if len(swapped) == 2 and any(v in good for v in _combinations(*swapped)):
                    return "missing_step"
    if all(o in good for o in ops if o not in CONSTANTS) and any(o in good for o in ops):
        return "extra_step"
    return "unneeded_quantity"


def _combinations(a: Fraction, b: Fraction) -> list[Fraction]:
    out = [a + b, a - b, b - a, a * b]
    out += [a / b] if b else []
    out += [b / a] if a else []
    return out


def _unit_factor(value: Fraction, target: Fraction, text: str = "") -> Fraction | None:
    """The unit factor between two values, where `text` talks about that unit."""
    if value == target or not target or not value:
        return None
    low = text.lower()
    for f in UNIT_FACTORS:
        if (value == target * f or value * f == target) and any(w in low for w in UNIT_WORDS[int(f)]):
            return f
    return None


def _reached(calc: Calc, key: WorkKey) -> bool:
    """Is the calculation's result on the key's path? A given counts only where the line restates it
    (10 x 1 = 10), not when a calculation happens to land on another of the problem's numbers."""
    r = calc.result
    return r is not None and (_on_path(r, key.values) or r in key.givens and r in calc.operands)


def _on_path(v: Fraction | None, good: frozenset) -> bool:
    return v is not None and any(close_enough(g, v) for g in good)


def _wrong_arithmetic(calc: Calc) -> bool:
    """Are two adjacent sides unequal? A running total (`3/2 = 1.50 + 3.00 = 4.50`, where the middle
    side starts from the value before it) is read as two calculations. An equation in an unknown
    that no value satisfies (`6 + 4 + 2 + x = 10 + x`) is wrong arithmetic too."""
    if calc.contradiction:
        return True
    for i in range(len(calc.values) - 1):
        a, b = calc.values[i], calc.values[i + 1]
        if a is None or b is None or close_enough(a, b):
            continue
        lead = re.match(r"\(?\s*(\d+(?:\.\d+)?)\s*[-+*/]", calc.sides[i + 1])
        if lead and close_enough(a, Fraction(lead.group(1))) and i + 2 < len(calc.values) \
                and calc.values[i + 2] is not None and close_enough(b, calc.values[i + 2]):
            continue
        return True
    return False


def _stated_in_identities(calcs: list[Calc]) -> list[Fraction]:
    """`3 + 5 + x + 2 = 10 + x` fixes no unknown, but states the 10 it sums to."""
    out = []
    for c in calcs:
        if c.result is None and c.unknown_value is None and not c.contradiction and len(c.sides) > 1:
            out += [v for v in (_value(n) for n in re.findall(r"\d+(?:\.\d+)?", c.sides[-1])) if v is not None]
    return out


def _claimed(calc: Calc) -> Fraction | None:
    return next((v for v in reversed(calc.values[1:]) if v is not None), None)


def _final(lines: list[_Line]) -> Fraction | None:
    for ln in reversed(lines):
        vals = [c.result for c in ln.calcs if c.result is not None] + ln.loose
        if ln.calcs and ln.loose and ln.math.numbers:  # "so 3 * 5 = 15 apples in 2 boxes": the calculation
            vals = [c.result for c in ln.calcs if c.result is not None] or vals
        if vals:
            return vals[-1]
    return None


def _conclusion(lines: list[_Line], final: Fraction) -> _Line:
    """The line that gives the final value as the answer: the last one stating it, unless that is just
    the bare answer repeated after a line that already said it."""
    stating = [ln for ln in lines if final in [c.result for c in ln.calcs] + ln.loose]
    if not stating:
        return lines[-1]
    last = stating[-1]
    if len(stating) > 1 and not last.calcs and len(last.loose) == 1 and len(last.math.words) == 0:
        return stating[-2]
    return last


def _value(n: str) -> Fraction | None:
    try:
        return Fraction(exact_number(n))
    except (ValueError, ZeroDivisionError):
        return None


def _show(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{float(v):g}"


_QUESTIONS = {
    "arithmetic": "Check the calculation in line {n}{calc}: work it out again, one operation at a time. "
                  "Does it really come to what you wrote?",
    "wrong_operation": "Look at line {n}{calc}. Read the sentence of the problem it is about again: should those "
                       "numbers be combined that way, or does the story call for a different operation?",
    "unit_slip": "In line {n}, what unit is each quantity in? Are they in the same unit when you combine them, "
                 "and is the result in the unit the question asks for?",
    "misread_quantity": "In line {n}, where does each number come from? Read the problem again and check that "
                        "the quantity you used there is the one it describes.",
    "extra_step": "In line {n} you went a step further{calc}. Read the question again: which quantity does it ask "
                  "for, and do you need this step?",
    "missing_step": "Look at line {n}. Is the quantity there what the question asks for, or is a step still missing "
                    "before you get there?",
    "unneeded_quantity": "Look at line {n}{calc}. What does the number you found there count, and does the problem "
                         "need that quantity to answer the question?",
    "no_answer": "I can't find an answer in your work yet. What quantity does the question ask for, and which line "
                 "works it out?",
}


def _question(kind: str, n: int, calc: Calc | None, key: WorkKey) -> str:
    """A focused question about line `n`; it quotes the student's calculation only when no key value is in it."""
    quoted = ""
    if calc is not None:
        shown = " = ".join(calc.sides)
        nums = [_value(x) for x in re.findall(r"\d+(?:\.\d+)?", shown)]
        if shown.count("_u") == 0 and not any(v in key.values for v in nums if v is not None):
            quoted = f" ({shown.replace('*', '×')})"
    return _QUESTIONS[kind].format(n=n, calc=quoted)
