"""Checking a student's line of work against the line before it (or the problem) with the CAS.

A line is valid when it is an equivalent expression, an equation or inequality with the same real
solutions, or a correct calculation. An invalid line gets a reason that names the mistake
("dividing by x loses a solution: x could be 0", "a sign changed", "squaring both sides adds a
solution") without stating the answer. Checks run in the grader's worker processes, so a line
that would make SymPy spin gets "unreadable ... took too long" within the timeout.

Work of several lines is split and checked here, the one way for every caller (the tutoring
session, `mathtutor check-step`): one step per line (LaTeX `\\\\` breaks count), each line against
the last readable one before it, and a line starting with `=` continues the one before. This
module never imports SymPy; the check itself is `tutor.checking.steps_engine`, in the workers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Sequence

from tutor.checking.grader import DEFAULT_TIMEOUT_S, precheck
from tutor.checking.workers import RemoteError, WorkerError, WorkerTimeout, get_pool

Verdict = Literal["valid", "invalid", "unreadable"]


@dataclass(frozen=True)
class StepVerdict:
    verdict: Verdict
    reason: str
    # True when the checker itself failed (no worker, a crash): the CLI exits non-zero on it
    internal_error: bool = field(default=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.verdict == "valid"

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reason": self.reason}


def check_step(line: str, previous: str | None = None, problem: str | None = None,
               timeout: float | None = None) -> StepVerdict:
    """Does `line` follow from `previous` (or, for a first line, from the math in `problem`)?
    Returns within `timeout` seconds (default `DEFAULT_TIMEOUT_S`)."""
    line = str(line or "").strip()
    if not line:
        return StepVerdict("unreadable", "the line is empty")
    for label, text in (("this line", line), ("the previous line", previous or "")):
        trouble = precheck(text)
        if trouble:
            return StepVerdict("unreadable", f"could not read {label}: {trouble}")
    if problem and len(problem) > 20000:
        problem = problem[:20000]
    timeout = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
    try:
        verdict, reason = get_pool().call("tutor.checking.steps_engine:check", line, previous, problem,
                                          timeout=timeout)
    except WorkerTimeout:
        return StepVerdict("unreadable", f"checking this line took longer than {timeout:g} s; "
                                         "try writing it more simply")
    except RemoteError as exc:
        return StepVerdict("unreadable", f"the checker failed on this line ({exc.type_name})", internal_error=True)
    except WorkerError as exc:
        return StepVerdict("unreadable", f"the checker is unavailable: {exc}", internal_error=True)
    return StepVerdict(verdict, reason)


def check_lines(lines: list[str] | str, problem: str | None = None, timeout: float | None = None, *,
                previous: str | None = None, stop_at_first_bad: bool = False) -> tuple[list[StepVerdict], int | None]:
    """Check each line against the last readable line before it (the first against `previous`, else
    the problem); also the index of the first line that is not valid, or None. With
    `stop_at_first_bad`, lines after that one are not checked (and get no verdict)."""
    if isinstance(lines, str):
        lines = split_lines(lines)
    verdicts: list[StepVerdict] = []
    first_bad: int | None = None
    for i, line in enumerate(lines):
        verdict = check_step(line, previous, problem, timeout)
        verdicts.append(verdict)
        if verdict.verdict != "valid" and first_bad is None:
            first_bad = i
            if stop_at_first_bad:
                break
        if verdict.verdict != "unreadable":
            previous = _resolve_continuation(line, previous)
    return verdicts, first_bad


def split_lines(text: str) -> list[str]:
    """A multi-line submission: one step per line (LaTeX `\\\\` line breaks count as new lines)."""
    parts = re.split(r"\n|\\\\(?![a-zA-Z])", text)
    return [p.strip().strip("&").strip() for p in parts if p.strip().strip("&").strip()]


def carried(work: Sequence[str]) -> str | None:
    """What the next line is checked against after the accepted `work` (lines or whole submissions):
    its last line, or the value a last `= 14` continued to; None when there is no work yet."""
    previous: str | None = None
    for text in work:
        for line in split_lines(text):
            previous = _resolve_continuation(line, previous)
    return previous


def _resolve_continuation(line: str, previous: str | None) -> str:
    """`= 14` continues the previous line, and the next line is compared with what that now says:
    `2x = 17 - 3` then `= 14` carries `2x = 14` (so `x = 7` may follow); after an expression
    (`3*4 + 2`), just the value."""
    stripped = line.strip()
    if not (previous and stripped.startswith("=")):
        return line
    value = stripped.lstrip("=").strip()
    body = _LEADING_ARROW_RE.sub("", previous)
    relation = _RELATION_RE.search(body)
    left = body[:relation.start()].replace("&", " ").strip() if relation else ""
    return f"{left} {relation.group(0)} {value}" if left else value


_LEADING_ARROW_RE = re.compile(r"^\s*(?:=>|->)\s*")
_RELATION_RE = re.compile(r"<=|>=|!=|\\(?:leq?|geq?|neq|lt|gt)(?![a-zA-Z])|[=<>\u2264\u2265\u2260]")
