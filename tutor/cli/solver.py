"""`mathtutor solve` (one question, streamed) and `mathtutor eval` (a benchmark run with a report)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import click

BACKEND_HELP = ("Model backend: transformers, openai[:BASE_URL], replay:PATH or scripted:PATH "
                "(default: MATHTUTOR_BACKEND).")


def _load(backend_spec: str | None, **overrides: Any):
    from tutor.solver.backends import get_backend
    from tutor.errors import BackendError
    from tutor.settings import SettingsError, load_settings
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
        backend = get_backend(backend_spec, settings.solver)
    except (BackendError, SettingsError) as exc:
        raise click.ClickException(str(getattr(exc, "message", exc))) from None
    return settings, backend


@contextlib.contextmanager
def _kernel_pool(settings: Any, kernels: int) -> Iterator[Any]:
    """A sandbox pool sized for `kernels` concurrent sessions, closed (every kernel killed) on exit."""
    from sandbox import KernelPool, SandboxError
    config = settings.sandbox
    config = dataclasses.replace(config, warm_kernels=max(config.warm_kernels, min(kernels + 1, config.max_kernels)),
                                 max_kernels=max(config.max_kernels, kernels + 1))
    pool = KernelPool(config, Path(settings.data_dir) / "kernels")
    try:
        pool.start()
    except SandboxError as exc:
        raise click.ClickException(f"the code sandbox cannot start: {exc}") from None
    try:
        yield pool
    finally:
        pool.close()


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM stops a run like Ctrl-C does: results so far are kept and every kernel is killed."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:          # not the main thread (e.g. called from a test runner thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("solve")
@click.argument("question")
@click.option("--backend", "backend_spec", default=None, help=BACKEND_HELP)
@click.option("--mode", type=click.Choice(["tir", "cot"]), default="tir", show_default=True,
              help="tir: reasoning with code run in a sandboxed kernel; cot: reasoning only.")
@click.option("--json", "as_json", is_flag=True, help="Print every event as a JSON line.")
@click.option("--max-rounds", type=int, default=None, help="Most generations (default: MATHTUTOR_MAX_ROUNDS).")
def solve_cmd(question: str, backend_spec: str | None, mode: str, as_json: bool, max_rounds: int | None) -> None:
    """Solve QUESTION, streaming the reasoning, code and outputs; ends with the final answer."""
    from tutor.events import CodeOutput, Done, ErrorEvent, FinalAnswer, TextDelta
    from tutor.solver.loop import run_turn
    from tutor.solver.prompt import PromptError, build_prompt

    try:
        prompt = build_prompt(question, mode)
    except PromptError as exc:
        raise click.ClickException(str(exc)) from None
    settings, backend = _load(backend_spec, max_rounds=max_rounds)
    failed = False
    cancel = threading.Event()
    pool_cm = _kernel_pool(settings, 1) if mode == "tir" else contextlib.nullcontext()
    try:
        with pool_cm as pool:
            runner = pool.acquire("cli-solve") if pool is not None else None
            try:
                for event in run_turn(backend, runner, prompt, settings.solver, cancel,
                                       cell_timeout=settings.sandbox.cell_timeout_s):
                    if as_json:
                        click.echo(json.dumps(event.to_dict(), ensure_ascii=False))
                        continue
                    if isinstance(event, TextDelta):
                        click.echo(event.text, nl=False)
                    elif isinstance(event, CodeOutput):
                        click.echo(f"```output\n{event.observation}\n```")
                    elif isinstance(event, FinalAnswer):
                        click.secho(f"\n\nFinal answer: {event.answer}", bold=True)
                    elif isinstance(event, ErrorEvent):
                        click.secho(f"\nerror: {event.message}", fg="red", err=True)
                    elif isinstance(event, Done):
                        click.echo(f"[{event.rounds} round(s), {event.tokens_out} tokens, "
                                   f"{event.seconds:.1f} s, stopped: {event.stopped}]", err=True)
                    if isinstance(event, ErrorEvent):
                        failed = True     # also with --json: the exit status tells a script
            finally:
                if pool is not None:
                    pool.release("cli-solve")
    except KeyboardInterrupt:
        cancel.set()
        raise click.Abort() from None
    finally:
        backend.close()
    if failed:
        sys.exit(1)


@click.command("eval")
@click.option("--dataset", required=True, type=click.Path(dir_okay=False),
              help="GSM8K or MATH JSONL (e.g. ../shared/data/gsm8k_test.jsonl).")
@click.option("--limit", type=int, default=None, help="Only the first N problems.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Problems solved at once (each with its own kernel).")
@click.option("--backend", "backend_spec", default=None, help=BACKEND_HELP)
@click.option("--mode", type=click.Choice(["tir", "cot"]), default="tir", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Results JSONL, one line per problem (default: DATA_DIR/eval/<dataset>-<time>.jsonl).")
@click.option("--kernel-per-problem", is_flag=True,
              help="Start a fresh kernel for every problem (default: one per worker, wiped between problems).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_cmd(dataset: str, limit: int | None, concurrency: int, backend_spec: str | None, mode: str,
             out: str | None, kernel_per_problem: bool, as_json: bool) -> None:
    """Solve a benchmark and report accuracy (overall, per MATH subject and level), tokens/s, code runs."""
    from tqdm import tqdm

    from tutor.errors import BadInput
    from tutor.solver.evaluation import evaluate, format_report, load_dataset, summarize

    try:
        problems = load_dataset(dataset, limit)
    except BadInput as exc:
        raise click.ClickException(exc.message) from None
    settings, backend = _load(backend_spec)
    out_path = Path(out) if out else (Path(settings.data_dir) / "eval"
                                      / f"{Path(dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    start = time.monotonic()
    results = []
    try:
        with open(out_path, "w", encoding="utf-8") as fh, \
                (_kernel_pool(settings, concurrency) if mode == "tir" else contextlib.nullcontext()) as pool, \
                tqdm(total=len(problems), file=sys.stderr, unit="problem", dynamic_ncols=True) as bar:
            def on_result(result):
                results.append(result)
                fh.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
                fh.flush()
                bar.update(1)
                bar.set_postfix(acc=f"{100.0 * sum(r.correct for r in results) / len(results):.1f}%")

            with _interrupt_on_sigterm():
                evaluate(problems, backend, pool, settings, concurrency=concurrency, mode=mode,
                         kernel_per_problem=kernel_per_problem, on_result=on_result, stop=stop)
    except KeyboardInterrupt:
        stop.set()
        click.echo(f"\ninterrupted: {len(results)} results kept in {out_path}", err=True)
    finally:
        backend.close()
    report = summarize(sorted(results, key=lambda r: r.idx), time.monotonic() - start)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "results": str(out_path)}))
    else:
        click.echo(format_report(report))
        click.echo(f"results: {out_path}")


def register(main: click.Group) -> None:
    main.add_command(solve_cmd)
    main.add_command(eval_cmd)
