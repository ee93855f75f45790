"""Benchmark runs: read GSM8K / MATH JSONL, solve each problem through the loop in its own fresh
kernel, grade with tutor.checking.grader, and report accuracy (overall, per MATH subject and level),
throughput and code-run statistics.

Each problem starts from a clean interpreter, as in DeepSeekMath's and ToRA's harnesses: by default
each worker keeps one kernel and wipes it between problems; `kernel_per_problem` starts a fresh one
for every problem (stricter, and ~1 s of kernel start-up each). Results are handed to `on_result` as they
finish, so an interrupted run keeps what it did.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from tutor.solver.backends.replay import ReplayBackend
from tutor.errors import BadInput
from tutor.jsonl import read_jsonl
from tutor.settings import Settings
from tutor.events import CodeOutput, Done, ErrorEvent, FinalAnswer
from tutor.solver.loop import run_turn
from tutor.solver.prompt import OUTPUT_STOP, build_prompt


@dataclass(frozen=True)
class Problem:
    idx: int
    question: str
    reference: str
    subject: str | None = None
    level: str | None = None


@dataclass
class ProblemResult:
    idx: int
    question: str
    reference: str
    answer: str | None
    answer_source: str | None
    correct: bool
    reason: str
    subject: str | None
    level: str | None
    rounds: int
    stopped: str
    error: str | None
    code_runs: int
    code_errors: int
    code_timeouts: int
    code_seconds: float
    tokens_in: int
    tokens_out: int
    tokens_cached: int
    seconds: float
    model_seconds: float
    outputs: list[str] = field(default_factory=list)          # what our kernel gave the model
    recorded_outputs: list[str] | None = None                 # what the replayed run had recorded
    outputs_differ: bool | None = None
    trajectory: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- datasets -----------------------------------------------------------------------------------
def _gsm8k_answer(text: str) -> str:
    return text.split("####")[-1].strip().replace(",", "")


def _problem(row: dict[str, Any], n: int) -> Problem:
    from tutor.solver.answers import last_boxed
    idx = int(row.get("idx", n)) if str(row.get("idx", n)).isdigit() else n
    if "question" in row:                                   # GSM8K (and ToRA's rows with `gt`)
        ref = row.get("gt")
        if ref is None:
            ref = _gsm8k_answer(str(row.get("answer", "")))
        return Problem(idx, str(row["question"]), str(ref))
    if "problem" in row:                                    # MATH / MATH-500
        ref = row.get("answer")
        if ref is None:
            ref = last_boxed(str(row.get("solution", "")))
        if ref is None:
            raise ValueError("no `answer` and no \\boxed{} in the solution")
        level = row.get("level")
        if isinstance(level, int) or (isinstance(level, str) and level.isdigit()):
            level = f"Level {level}"
        return Problem(idx, str(row["problem"]), str(ref), row.get("subject") or row.get("type"), level)
    raise ValueError("expected GSM8K (`question`, `answer`) or MATH (`problem`, `solution`/`answer`) fields")


def load_dataset(path: str | Path, limit: int | None = None) -> list[Problem]:
    problems = []
    for n, row in read_jsonl(path, "dataset"):
        try:
            problems.append(_problem(row, len(problems)))
        except (ValueError, TypeError) as exc:
            raise BadInput(f"{path}:{n}: not a GSM8K or MATH row ({exc})") from None
        if limit is not None and len(problems) >= limit:
            break
    if not problems:
        raise BadInput(f"dataset {path} holds no problems")
    return problems


def recorded_outputs(text: str) -> list[str]:
    """The output blocks a recorded trajectory had, in order."""
    outs = []
    rest = text
    while (i := rest.find(OUTPUT_STOP)) >= 0:
        body = rest[i + len(OUTPUT_STOP):]
        end = body.find("```")
        outs.append((body if end < 0 else body[:end]).strip())
        rest = body if end < 0 else body[end + 3:]
        if end < 0:
            break
    return outs


# --- running --------------------------------------------------------------------------------------
RESET_CELL = "%reset -f"


class Kernels:
    """Hands each problem a clean kernel: a fresh one per problem (strict), or one per worker thread
    whose namespace is wiped (`%reset -f`) between problems (no kernel start-up per problem)."""

    def __init__(self, pool: Any, *, per_problem: bool = False, timeout: float | None = None):
        self.pool, self.per_problem, self.timeout = pool, per_problem, timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    def _new(self) -> tuple[str, Any]:
        key = f"eval-{uuid.uuid4().hex[:12]}"
        session = self.pool.acquire(key)
        with self._lock:
            self._keys.add(key)
        return key, session

    def _drop(self, key: str) -> None:
        with self._lock:
            self._keys.discard(key)
        self.pool.release(key)

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        if self.per_problem:
            key, session = self._new()
            try:
                yield session
            finally:
                self._drop(key)
            return
        held = getattr(self._local, "held", None)
        if held is not None:
            try:
                wiped = held[1].run(RESET_CELL, timeout=self.timeout)
                ok = wiped.error is None and not wiped.timed_out
            except Exception:
                ok = False
            if not ok:                 # the kernel is in a bad way: start this worker a new one
                self._drop(held[0])
                held = None
        if held is None:
            held = self._local.held = self._new()
        try:
            yield held[1]
        except BaseException:
            self._local.held = None
            self._drop(held[0])
            raise

    def close(self) -> None:
        with self._lock:
            keys = list(self._keys)
        for key in keys:
            self._drop(key)


def solve_one(problem: Problem, backend: Any, kernels: Kernels | None, settings: Settings, *,
              mode: str = "tir") -> ProblemResult:
    from tutor.checking.grader import grade
    outputs: list[str] = []
    answer = source = error = None
    done: Done | None = None
    with contextlib.ExitStack() as stack:
        runner = None
        if mode == "tir" and kernels is not None:
            try:
                runner = stack.enter_context(kernels.session())
            except Exception as exc:
                error = f"sandbox: {exc}"
        if error is None:
            for event in run_turn(backend, runner, build_prompt(problem.question, mode), settings.solver,
                                  cell_timeout=settings.sandbox.cell_timeout_s):
                if isinstance(event, CodeOutput):
                    outputs.append(event.observation)
                elif isinstance(event, FinalAnswer):
                    answer, source = event.answer, event.source
                elif isinstance(event, ErrorEvent):
                    error = f"{event.code}: {event.message}"
                elif isinstance(event, Done):
                    done = event
    verdict = grade(problem.reference, answer, timeout=settings.grading.timeout_s) if answer is not None else None
    extra = done.extra if done else {}
    rec = None
    if isinstance(backend, ReplayBackend):
        found = backend.lookup(problem.question)
        rec = recorded_outputs(found.text) if found else None
    return ProblemResult(
        idx=problem.idx, question=problem.question, reference=problem.reference, answer=answer,
        answer_source=source, correct=bool(verdict and verdict.equivalent),
        reason=verdict.reason if verdict else "no answer", subject=problem.subject, level=problem.level,
        rounds=done.rounds if done else 0, stopped=done.stopped if done else "error", error=error,
        code_runs=extra.get("code_runs", 0), code_errors=extra.get("code_errors", 0),
        code_timeouts=extra.get("code_timeouts", 0), code_seconds=done.code_seconds if done else 0.0,
        tokens_in=done.tokens_in if done else 0, tokens_out=done.tokens_out if done else 0,
        tokens_cached=extra.get("tokens_cached", 0), seconds=done.seconds if done else 0.0,
        model_seconds=done.model_seconds if done else 0.0, outputs=outputs, recorded_outputs=rec,
        outputs_differ=None if rec is None else outputs != rec[: len(outputs)] or len(outputs) != len(rec),
        trajectory=extra.get("text", ""))


def evaluate(problems: Iterable[Problem], backend: Any, pool: Any, settings: Settings, *, concurrency: int = 1,
             mode: str = "tir", kernel_per_problem: bool = False,
             on_result: Callable[[ProblemResult], None] | None = None,
             stop: threading.Event | None = None) -> list[ProblemResult]:
    """Solve every problem (`concurrency` at a time); results come back in dataset order."""
    problems = list(problems)
    results: list[ProblemResult] = []
    kernels = Kernels(pool, per_problem=kernel_per_problem,
                      timeout=settings.sandbox.cell_timeout_s) if pool else None
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="eval") as ex:
            futures = {ex.submit(_guarded, p, backend, kernels, settings, mode, stop): p for p in problems}
            try:
                for fut in as_completed(futures):
                    result = fut.result()
                    if result is None:
                        continue
                    results.append(result)
                    if on_result is not None:
                        on_result(result)
            except BaseException:
                if stop is not None:
                    stop.set()
                for f in futures:
                    f.cancel()
                raise
    finally:
        if kernels is not None:
            kernels.close()
    results.sort(key=lambda r: r.idx)
    return results


def _guarded(problem, backend, kernels, settings, mode, stop) -> ProblemResult | None:
    if stop is not None and stop.is_set():
        return None
    return solve_one(problem, backend, kernels, settings, mode=mode)


# --- the report ------------------------------------------------------------------------------------
@dataclass
class Report:
    n: int
    correct: int
    accuracy: float
    by_subject: dict[str, dict[str, float]]
    by_level: dict[str, dict[str, float]]
    tokens_out: int
    model_seconds: float
    tokens_per_s: float
    code_runs: int
    code_errors: int
    code_timeouts: int
    code_seconds_p50: float
    code_seconds_mean: float
    errors: int
    stopped: dict[str, int]
    outputs_compared: int | None = None
    outputs_differ: int | None = None
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _acc(rows: list[ProblemResult]) -> dict[str, float]:
    return {"n": len(rows), "correct": sum(r.correct for r in rows),
            "accuracy": round(100.0 * sum(r.correct for r in rows) / len(rows), 2) if rows else 0.0}


def summarize(results: list[ProblemResult], wall_seconds: float = 0.0) -> Report:
    by_subject: dict[str, list[ProblemResult]] = collections.defaultdict(list)
    by_level: dict[str, list[ProblemResult]] = collections.defaultdict(list)
    for r in results:
        if r.subject:
            by_subject[r.subject].append(r)
        if r.level:
            by_level[r.level].append(r)
    per_run = sorted(r.code_seconds / r.code_runs for r in results if r.code_runs)
    tokens = sum(r.tokens_out for r in results)
    model_s = sum(r.model_seconds for r in results)
    compared = [r for r in results if r.outputs_differ is not None]
    return Report(
        n=len(results), correct=sum(r.correct for r in results),
        accuracy=round(100.0 * sum(r.correct for r in results) / len(results), 2) if results else 0.0,
        by_subject={k: _acc(v) for k, v in sorted(by_subject.items())},
        by_level={k: _acc(v) for k, v in sorted(by_level.items())},
        tokens_out=tokens, model_seconds=round(model_s, 3), tokens_per_s=round(tokens / model_s, 1) if model_s else 0.0,
        code_runs=sum(r.code_runs for r in results), code_errors=sum(r.code_errors for r in results),
        code_timeouts=sum(r.code_timeouts for r in results),
        code_seconds_p50=round(per_run[len(per_run) // 2], 4) if per_run else 0.0,
        code_seconds_mean=round(sum(per_run) / len(per_run), 4) if per_run else 0.0,
        errors=sum(r.error is not None for r in results),
        stopped=dict(collections.Counter(r.stopped for r in results)),
        outputs_compared=len(compared) if compared else None,
        outputs_differ=sum(bool(r.outputs_differ) for r in compared) if compared else None,
        wall_seconds=round(wall_seconds, 1))


def format_report(report: Report) -> str:
    lines = [f"accuracy: {report.accuracy:.2f}% ({report.correct}/{report.n})"]
    for title, table in (("by subject", report.by_subject), ("by level", report.by_level)):
        if table:
            lines.append(f"{title}:")
            lines += [f"  {k:<24} {v['accuracy']:6.2f}% ({v['correct']}/{v['n']})" for k, v in table.items()]
    lines.append(f"tokens: {report.tokens_out} generated in {report.model_seconds:.1f} s of model time "
                 f"({report.tokens_per_s} tokens/s)")
    lines.append(f"code runs: {report.code_runs} ({report.code_errors} raised, {report.code_timeouts} timed out; "
                 f"p50 {report.code_seconds_p50 * 1000:.0f} ms, mean {report.code_seconds_mean * 1000:.0f} ms)")
    lines.append(f"turns ended: " + ", ".join(f"{k} {v}" for k, v in sorted(report.stopped.items()))
                 + f"; errors: {report.errors}")
    if report.outputs_compared is not None:
        lines.append(f"outputs differing from the recorded run: {report.outputs_differ} of {report.outputs_compared} problems")
    lines.append(f"wall time: {report.wall_seconds:.1f} s")
    return "\n".join(lines)

