"""Which attempts count as evidence of knowing a skill. A correct first attempt credits the skill only
when it shows work: a step that is trivially true ("1 = 1", "x = x") or that restates the problem or a
given proves nothing, and an answer typed after a bottom-out hint may just be the hint copied."""

from __future__ import annotations

import re
from typing import Any

from tutor.checking.steps import split_lines

_SPACE = re.compile(r"[\s$\\,]+")


def _norm(text: str) -> str:
    text = text.replace("\\cdot", "*").replace("\\times", "*").replace("·", "*").replace("×", "*")
    return _SPACE.sub("", text.lower()).rstrip(".")


def trivial_line(line: str, problem: str) -> bool:
    """True for a line that is its own proof or that only copies the problem."""
    norm = _norm(line)
    if not norm or not re.search(r"[0-9a-z]", norm):
        return True
    sides = [s for s in re.split(r"=+", norm) if s]
    if len(sides) >= 2 and len(set(sides)) == 1:            # 1 = 1, x+2 = x+2
        return True
    if "=" in norm and norm in _norm(problem):               # restating an equation of the problem
        return True
    return False


def trivial_step(text: str, problem: str) -> bool:
    lines = split_lines(text)
    return bool(lines) and all(trivial_line(line, problem) for line in lines)


def is_evidence(live: Any, kind: str, text: str) -> bool:
    """May this (correct, first) attempt credit the session's skills?"""
    if kind == "answer" and (getattr(live, "bottomed_out", False) or getattr(live, "revealed", False)):
        return False
    if kind == "step" and trivial_step(text, getattr(live, "question", "")):
        return False
    return True
