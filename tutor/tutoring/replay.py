"""A session's kernel rebuilt on a replica (or after a restart) that does not hold it: the session's
recorded cells run again, in order, in a fresh sandboxed kernel, and each output is compared with the
recorded one. A cell that prints something else now (random numbers, the clock, a cell that depended on
a file) is reported to the student and flagged for the teacher, never hidden: later results may rest on
a value the student did not see."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

# A cell that timed out or was stopped when it was recorded is not run again: its effect was cut off
# part-way, and running it would cost the whole timeout again.
_CUT_OFF_ERRORS = frozenset({"KeyboardInterrupt", "Stopped"})


@dataclass(frozen=True)
class Mismatch:
    cell: int          # 1-based, in the session's order
    code: str
    recorded: str
    now: str


@dataclass(frozen=True)
class Replay:
    cells: int = 0                      # run again
    skipped: int = 0                    # cut off when recorded: not run
    seconds: float = 0.0
    mismatches: tuple[Mismatch, ...] = field(default_factory=tuple)

    def record(self) -> dict[str, Any]:
        """The private event that tells the teacher the kernel was rebuilt (and how it went)."""
        return {"kind": "kernel_rebuilt", "cells": self.cells, "skipped": self.skipped,
                "seconds": round(self.seconds, 3),
                "mismatches": [{"cell": m.cell, "code": m.code[:500], "recorded": m.recorded[:500], "now": m.now[:500]}
                               for m in self.mismatches]}

    def notice(self) -> str:
        """What the student is told when the rebuilt kernel does not match what they saw."""
        n = len(self.mismatches)
        listed = "; ".join(f"cell {m.cell} (`{_first_line(m.code)}`) printed {_short(m.now)} instead of "
                           f"{_short(m.recorded)}" for m in self.mismatches[:3])
        more = f" and {n - 3} more" if n > 3 else ""
        return (f"This session moved to another server, so I re-ran its {self.cells} earlier code cell(s) to get "
                f"the variables back, but {n} of them gave a different result this time: {listed}{more}. "
                "Results that build on those values may differ from what you saw before; your teacher has "
                "been told.")

    def flag_note(self) -> str:
        return "The session's kernel was rebuilt by replaying its recorded cells; some outputs differ: " + "; ".join(
            f"cell {m.cell} `{_first_line(m.code)}`: recorded {_short(m.recorded)}, now {_short(m.now)}"
            for m in self.mismatches[:10])


def replay_cells(runner: Any, cells: Iterable[Any], *, timeout: float | None = None) -> Replay:
    """Run `cells` (the store's CodeCellRecords, the session's own, in order) in `runner`."""
    start = time.monotonic()
    ran = skipped = 0
    mismatches: list[Mismatch] = []
    for number, cell in enumerate(cells, 1):
        if cell.timed_out or (cell.error_type or "") in _CUT_OFF_ERRORS:
            skipped += 1
            continue
        result = runner.run(cell.code, timeout=timeout)
        ran += 1
        error = result.error.to_dict() if result.error is not None else None
        recorded = _fingerprint(cell.stdout, cell.error_type, cell.timed_out)
        now = _fingerprint(result.stdout, (error or {}).get("type"), result.timed_out)
        if recorded != now:
            mismatches.append(Mismatch(number, cell.code, recorded, now))
    return Replay(ran, skipped, time.monotonic() - start, tuple(mismatches))


def _fingerprint(stdout: str, error_type: str | None, timed_out: bool) -> str:
    # what the model and the student saw; timings, tracebacks' line numbers and trailing space are not it
    out = "\n".join(line.rstrip() for line in (stdout or "").strip().splitlines())
    if timed_out:
        return out + "\n[timed out]" if out else "[timed out]"
    if error_type:
        return f"{out}\n[{error_type}]" if out else f"[{error_type}]"
    return out


def _first_line(code: str) -> str:
    line = next((ln.strip() for ln in code.splitlines() if ln.strip()), "")
    return line[:60] + ("…" if len(line) > 60 else "")


def _short(text: str) -> str:
    text = " ".join(text.split()) or "nothing"
    return repr(text[:80] + ("…" if len(text) > 80 else ""))
