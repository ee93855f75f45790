"""Grader and step-checker speed; prints figures, asserts nothing (target: grader p50 <= 10 ms warm).

1. Cold: a fresh process's first `grade()` (starts the worker pool: imports SymPy and warms it up),
   then its second call. Repeated --cold-runs times.
2. Warm `grade()` through the worker pool (what callers get) vs. the same comparison run in-process
   with no pool (`tutor.checking.grading_engine.compare`, the baseline measured in the same run; the
   difference is the IPC cost). Corpora: ToRA-Code-34B's recorded GSM8K predictions against the ground truth (1,319
   real model answers; also prints the accuracy our grader gives them, published: 80.7), the MATH500
   reference answers against the answer extracted from each reference solution (mostly textually
   equal: the fast path), the MATH500 references against SymPy's plain rendering of the same value
   (never textually equal: the full parse-and-compare path), and the test table's student-style pairs.
3. Warm `check_step()` over the step-checker test table.

Usage: .venv/bin/python bench/grader_bench.py [--limit N] [--cold-runs 3]
The box is shared; on 2 busy cores these figures are noisy, so compare ratios within one run.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def line(name: str, ms: list[float]) -> str:
    return (f"{name:44} n={len(ms):5}  p50={pct(ms, .5):7.2f} ms  p95={pct(ms, .95):7.2f} ms  "
            f"max={max(ms):8.1f} ms")


def cold(runs: int) -> None:
    code = ("import time; t=time.perf_counter(); from tutor.checking.grader import grade; "
            "v=grade('\\\\frac{1}{2}', '0.5'); t1=time.perf_counter(); grade('x = 2 or x = 3', '3, 2'); "
            "t2=time.perf_counter(); print(t1-t, t2-t1, v.equivalent)")
    firsts, seconds = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
        a, b, ok = out.stdout.split()
        assert ok == "True", out
        firsts.append(float(a) * 1000)
        seconds.append(float(b) * 1000)
    print(line("cold: first grade() in a fresh process", firsts))
    print(line("cold: second grade() in that process", seconds))


def gsm8k_pairs(limit: int) -> tuple[list[tuple[str, str]], list[bool]]:
    pairs, recorded = [], []
    path = DATA / "tora" / "tora-code-34b_gsm8k.jsonl"
    for raw in path.read_text().splitlines()[:limit]:
        row = json.loads(raw)
        preds = row["pred"]
        if isinstance(preds, str):
            preds = ast.literal_eval(preds) if preds.startswith("[") else [preds]
        pairs.append((str(row["gt"]), str(preds[0]) if preds else ""))
    return pairs, recorded


def math500_pairs(limit: int) -> list[tuple[str, str]]:
    from tutor.solver.answers import extract_answer

    pairs = []
    for raw in (DATA / "math500_test.jsonl").read_text().splitlines()[:limit]:
        row = json.loads(raw)
        got = extract_answer(row["solution"])
        pairs.append((row["answer"], got.answer if got else ""))
    return pairs


def math500_rerendered(limit: int) -> list[tuple[str, str]]:
    """Each MATH500 reference against the same value written by SymPy (plain `str` form): no pair
    is textually equal, so every comparison parses LaTeX and plain text and compares values."""
    import sympy

    from tutor.checking import mathtext

    pairs = []
    for raw in (DATA / "math500_test.jsonl").read_text().splitlines()[:limit]:
        ref = json.loads(raw)["answer"]
        try:
            value = mathtext.read_math(ref)
        except mathtext.Unreadable:
            continue
        if isinstance(value, sympy.Expr):
            alt = str(value).replace("**", "^")
            if alt.replace(" ", "") != ref.replace(" ", ""):
                pairs.append((ref, alt))
    return pairs


def table_pairs() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "tests" / "grading"))
    import test_grader  # the test table: student-style input

    return [p for p in test_grader.EQUIVALENT + test_grader.NOT_EQUIVALENT if len(p[1]) < 100]


def timed(fn, pairs) -> tuple[list[float], list]:
    ms, results = [], []
    for ref, ans in pairs:
        t = time.perf_counter()
        results.append(fn(ref, ans))
        ms.append((time.perf_counter() - t) * 1000)
    return ms, results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=1319)
    ap.add_argument("--cold-runs", type=int, default=3)
    args = ap.parse_args()

    cold(args.cold_runs)

    from tutor.checking import grader, grading_engine
    from tutor.checking.workers import get_pool

    get_pool().warm(wait=True)
    grader.grade("1", "1")

    gsm, _ = gsm8k_pairs(args.limit)
    corpora = {"gsm8k ToRA preds vs gt": gsm, "math500 answer vs solution": math500_pairs(min(args.limit, 500)),
               "math500 answer vs SymPy's plain form": math500_rerendered(min(args.limit, 500)),
               "test table (student-style)": table_pairs()}
    for name, pairs in corpora.items():
        baseline_ms, base = timed(lambda r, a: grading_engine.compare(r, a)[0], pairs)
        pool_ms, verdicts = timed(lambda r, a: grader.grade(r, a, timeout=10).equivalent, pairs)
        print(line(f"warm grade(), pool: {name}", pool_ms))
        print(line(f"  baseline in-process compare(): {name}", baseline_ms))
        print(f"  ratio p50 pool/in-process = {pct(pool_ms, .5) / max(pct(baseline_ms, .5), 1e-9):.2f}; "
              f"accepted {sum(verdicts)}/{len(verdicts)} ({100 * sum(verdicts) / len(verdicts):.1f}%); "
              f"pool and in-process agree on {sum(a == b for a, b in zip(base, verdicts))}/{len(verdicts)}")

    sys.path.insert(0, str(ROOT / "tests" / "grading"))
    import test_steps
    from tutor.checking.steps import check_step

    rows = [r for r in test_steps.TABLE if len(r[0]) < 200]
    ms = []
    for line_, previous, problem, _, _ in rows:
        t = time.perf_counter()
        check_step(line_, previous, problem, timeout=10)
        ms.append((time.perf_counter() - t) * 1000)
    print(line("warm check_step(): step table", ms))


if __name__ == "__main__":
    main()
