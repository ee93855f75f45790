"""The key's steps, read off the model's own executed program (`tutor.tutoring.key_program` finds the
candidates, `tutor.tutoring.key_values` has the kernel compute them). Only the steps the final value
depends on are kept, in the order the program computes them, under words that never give the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from tutor.tutoring.key_program import Candidate, Program, instrument, name_words
from tutor.tutoring.key_values import record_values


@dataclass(frozen=True)
class DerivedStep:
    description: str
    result: str
    expression: str


@dataclass(frozen=True)
class Derivation:
    steps: tuple[DerivedStep, ...]
    note: str                     # how the steps were found, for the key and the teacher
    candidates: int = 0           # computing statements seen before pruning


# --- choosing the steps ------------------------------------------------------------------------------------

def _needed(program: Program, final: Candidate) -> list[Candidate]:
    """The final candidate and every candidate it depends on, by the names it reads (the latest assignment
    of a name before the reader, in its own function first) and the functions it calls (their returns)."""
    by_order = sorted(program.candidates, key=lambda c: c.order)
    keep: set[int] = set()
    todo = [final]
    while todo:
        c = todo.pop()
        if c.id in keep:
            continue
        keep.add(c.id)
        todo += [s for s in program.candidates if s.parent == c.id]
        names = set(c.reads)
        for fn in c.calls:
            names |= program.returns.get(fn, set())
            todo += [s for s in program.candidates if s.kind == "return" and s.function == fn]
        for name in names:
            earlier = [s for s in by_order if s.target == name and s.kind == "assign" and s.order < c.order]
            local = [s for s in earlier if s.function == c.function]
            pick = (local or earlier or [s for s in by_order if s.target == name and s.kind == "assign"])
            if pick:
                todo.append(pick[-1])
    return [c for c in by_order if c.id in keep]


def _same(a: str, b: str, timeout: float) -> bool:
    from tutor.checking.grader import grade

    if a.strip() == b.strip():
        return True
    try:
        return bool(grade(a, b, timeout=timeout).equivalent)
    except Exception:  # noqa: BLE001 - unreadable pairs count as different
        return False


def derive_steps(cells: Sequence[str], runner: Any, answer: str | None, *, max_steps: int, timeout: float,
                 reasoning: Sequence[str] = ()) -> Derivation:
    """Steps from the executed cells of the model's solution (see the module docstring)."""
    program = instrument(cells, reasoning)
    failed = record_values(program, runner)
    valued = [c for c in sorted(program.candidates, key=lambda c: c.order) if c.value is not None]
    seen = len([c for c in program.candidates if c.kind != "sub"])
    if not valued:
        why = "the program computed nothing that could be read back" if program.candidates else \
            "the program has no computing statement"
        return Derivation((), why + (f" (cells {failed} failed)" if failed else ""), seen)
    final = None
    if answer:
        for c in reversed(valued):
            if c.kind != "sub" and _same(answer, c.value or "", timeout):
                final = c
                break
    chosen = _needed(program, final) if final is not None else valued
    # a symbolic part of an expression (`2*x` inside `solve(2*x + 3 - 17, x)`) only writes the equation
    chosen = [c for c in chosen if c.value is not None and (c.kind != "sub" or c.number is not None)]
    steps: list[Candidate] = []
    for c in chosen:
        # the same value again (a sub-expression equal to its whole, `total = round(total)`) is one step:
        # keep the statement rather than the part
        prev = steps[-1] if steps else None
        if prev is not None and prev.value == c.value and (
                c.parent == prev.id or prev.parent == c.id or prev.target in c.reads):
            if c.kind != "sub":
                steps[-1] = c
            continue
        steps.append(c)
    if len(steps) > max_steps:
        # fold the inner products back into their statements first, then keep the last ones
        steps = [c for c in steps if c.kind != "sub" or c is final][-max_steps:]
    out = tuple(DerivedStep(_safe_words(c), c.value or "", c.expr) for c in steps)
    note = (f"{len(out)} step{'s' if len(out) != 1 else ''} from the model's executed program "
            f"({seen} computing statement{'s' if seen != 1 else ''}, values read back from the kernel)")
    if final is None:
        note += "; no computed value equals the answer, so a last step states it"
    elif len(out) == 1:
        note += "; the program computes the answer in one operation, so this problem is one step"
    return Derivation(out, note, seen)


def _safe_words(c: Candidate) -> str:
    """The description, unless it writes the step's own value (a comment like `# 16 - 3 - 4 = 9`)."""
    words = c.words
    if c.value and re.search(rf"(?<![\w.]){re.escape(c.value)}(?![\w.])", words):
        words = f"Work out {c.expr}" if not c.target else f"Work out the {name_words(c.target)}"
    return words[:300]


def reasoning_before_cells(text: str) -> list[str]:
    """The last sentence before each ```python block of the model's text (the words for a one-step cell)."""
    out = []
    for m in re.finditer(r"```python\n", text):
        before = text[: m.start()]
        before = before.rsplit("```", 1)[-1] if "```" in before else before
        sentences = [s.strip() for s in re.split(r"(?<=[.!?:])\s+|\n+", before) if s.strip()]
        last = sentences[-1].rstrip(":").strip() if sentences else ""
        out.append(last if 12 <= len(last) <= 200 and not re.search(r"\\boxed|\d{3,}", last) else "")
    return out
