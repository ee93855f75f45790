"""Replay the ```python blocks of real model trajectories (ToRA corpus) through the sandbox and compare
stdout with the recorded ```output; classify every mismatch. Used by the fidelity test and the bench."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tora" / "tora-corpus-examples.jsonl"
BLOCK = re.compile(r"```python\n(.*?)```\s*```output\n(.*?)```", re.S)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
# Mismatches examined by hand: the recorded output could not have come from the recorded code.
KNOWN = {
    "math-train-1527-0": "corpus error: f() is defined without a parameter but called as f(2), so every Python "
                         "raises TypeError; the recorded '4' did not come from this code",
}


@dataclass
class Case:
    id: str
    code: str
    recorded: str
    got: str
    result: object
    verdict: str = ""      # exact | equivalent | explained | different
    reason: str = ""


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def exact(self) -> int:
        return sum(c.verdict == "exact" for c in self.cases)

    @property
    def equivalent(self) -> int:
        return sum(c.verdict == "equivalent" for c in self.cases)

    @property
    def explained(self) -> int:
        return sum(c.verdict == "explained" for c in self.cases)

    def text(self) -> str:
        lines = [f"fidelity: {self.total} python blocks from {CORPUS.name}: {self.exact} exact "
                 f"({100 * self.exact / max(self.total, 1):.1f}%), {self.equivalent} equivalent, "
                 f"{self.explained} explained by hand, "
                 f"{self.total - self.exact - self.equivalent - self.explained} unexplained"]
        for c in self.cases:
            if c.verdict != "exact":
                lines.append(f"  {c.id} [{c.verdict}] {c.reason}: recorded {c.recorded[:80]!r} got {c.got[:80]!r}")
        return "\n".join(lines)


def blocks(path: Path = CORPUS):
    """(id, [(code, recorded output), ...]) per trajectory, in order (later blocks reuse state)."""
    for line in path.read_text().splitlines():
        row = json.loads(line)
        text = "".join(m["content"] for m in row["messages"] if m["role"] == "assistant")
        found = BLOCK.findall(text)
        if found:
            yield row["id"], found


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _numbers_close(a: str, b: str) -> bool:
    na, nb = NUMBER.findall(a), NUMBER.findall(b)
    if len(na) != len(nb) or not na or NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    return all(math.isclose(float(x), float(y), rel_tol=1e-6, abs_tol=1e-9) for x, y in zip(na, nb))


def _sympy_equal(a: str, b: str) -> bool:
    try:
        from sympy import simplify, sympify
        return simplify(sympify(a) - sympify(b)) == 0
    except Exception:   # noqa: BLE001 - unparseable output simply is not "equal"
        return False


def classify(case: Case) -> None:
    want, got = _norm(case.recorded), _norm(case.got)
    if want == got:
        case.verdict, case.reason = "exact", ""
    elif case.id in KNOWN:
        case.verdict, case.reason = "explained", KNOWN[case.id]
    elif _numbers_close(want, got):
        case.verdict, case.reason = "equivalent", "float formatting/rounding differs (library version)"
    elif sorted(want.splitlines()) == sorted(got.splitlines()):
        case.verdict, case.reason = "equivalent", "same lines in another order (set/dict iteration order)"
    elif "\n" not in want and "\n" not in got and _sympy_equal(want, got):
        case.verdict, case.reason = "equivalent", "SymPy prints an equal expression differently (SymPy version)"
    elif "random" in case.code:
        case.verdict, case.reason = "equivalent", "the code draws random numbers"
    elif case.result.error is not None and case.result.error.type.split(".")[-1] in want:
        case.verdict, case.reason = "equivalent", "same exception, message worded differently (library version)"
    else:
        case.verdict, case.reason = "different", "unexplained"


def run_fidelity(pool, timeout: float = 30.0) -> Report:
    report = Report()
    for traj_id, found in blocks():
        key = f"fidelity-{traj_id}"
        session = pool.acquire(key)
        try:
            for code, recorded in found:
                r = session.run(code, timeout=timeout)
                got = r.stdout or "\n".join(r.results)
                if r.error is not None:
                    got += f"{r.error.type}: {r.error.message}"
                case = Case(traj_id, code, recorded, got, r)
                classify(case)
                report.cases.append(case)
        finally:
            pool.release(key)
    return report
