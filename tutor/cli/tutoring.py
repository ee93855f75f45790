"""`mathtutor tutor`, `mathtutor check-hint` and `mathtutor eval-tutor`: tutoring without a browser.

The work is done in tutor/tutoring/ (headless.py, guard.py, evaluation.py); these only read options,
print, and turn a TutorError into a clear message.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import click


def _settings():
    from tutor.checking import workers
    from tutor.settings import load_settings

    settings = load_settings()
    workers.configure(settings.grading.workers, settings.grading.worker_memory_mb)
    return settings


def _backend(spec: str | None, settings):
    from tutor.errors import TutorError
    from tutor.solver.backends import get_backend

    try:
        return get_backend(spec, settings.solver)
    except TutorError as exc:
        raise click.ClickException(exc.message) from None


@click.command("tutor")
@click.option("--backend", "backend_spec", default=None, help="Model backend spec (default: MATHTUTOR_BACKEND), "
                                                              "e.g. replay:FILE or scripted:FILE.")
@click.option("--problem", required=True, help="The problem text.")
@click.option("--reference", default=None, help="The teacher's reference answer (answers are graded against it).")
@click.option("--actions", "actions_file", required=True, type=click.File("r", encoding="utf-8"),
              help="Student actions, one a line: hint | step: LINE | answer: TEXT | say: TEXT | stop ('-': stdin).")
@click.option("--json", "as_json", is_flag=True, help="Print each event's to_dict() as one JSON line.")
def tutor_cmd(backend_spec: str | None, problem: str, reference: str | None, actions_file, as_json: bool) -> None:
    """Run one tutoring session from a script of student actions, printing every event."""
    from tutor.errors import TutorError
    from tutor.tutoring.headless import Stopped, describe, parse_actions, run_headless

    try:
        actions = parse_actions(actions_file.read().splitlines())
    except TutorError as exc:
        raise click.ClickException(exc.message) from None
    settings = _settings()
    backend = _backend(backend_spec, settings)
    try:
        for ev in run_headless(settings, problem, actions, backend=backend, reference=reference):
            if as_json:
                if not isinstance(ev, Stopped) and ev.kind != "text":
                    click.echo(json.dumps(ev.to_dict(), ensure_ascii=False, default=str))
            else:
                line = describe(ev)
                if line is not None:
                    click.echo(line)
    except TutorError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        backend.close()


@click.command("check-hint")
@click.option("--answer", required=True, help="The hidden final answer.")
@click.option("--step-result", "step_results", multiple=True, help="A hidden step result (repeat for each step).")
@click.option("--json", "as_json", is_flag=True, help='Print {"leak": ..., "reason": ...}.')
@click.option("--timeout", type=float, default=None, help="Seconds allowed (default: MATHTUTOR_GUARD_TIMEOUT_S).")
@click.argument("text")
def check_hint_cmd(answer: str, step_results: tuple[str, ...], as_json: bool, timeout: float | None, text: str) -> None:
    """Would the tutor's leak guard let TEXT through while ANSWER (and the step results) are hidden?"""
    from tutor.tutoring.guard import check_hint

    settings = _settings()
    verdict = check_hint(text, answer, {i: r for i, r in enumerate(step_results, start=1)},
                         timeout=timeout if timeout is not None else settings.tutoring.guard_timeout_s)
    if as_json:
        click.echo(json.dumps(verdict.to_dict(), ensure_ascii=False))
    else:
        click.echo(f"leak: {verdict.reason}" if verdict.leak else "no leak")


@click.command("eval-tutor")
@click.option("--dataset", required=True, type=click.Path(dir_okay=False),
              help="JSONL of problems with answers (MATH, MATH-500, GSM8K).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N problems.")
@click.option("--backend", "backend_spec", default=None,
              help="Model backend spec (default: MATHTUTOR_BACKEND), e.g. replay:FILE or scripted:FILE.")
@click.option("--without-reference", is_flag=True,
              help="Give the tutor no reference answers (keys then stand on their own confirmation).")
@click.option("--json", "as_json", is_flag=True, help="Print the report and each problem as JSON.")
def eval_tutor_cmd(dataset: str, limit: int | None, backend_spec: str | None, without_reference: bool,
                   as_json: bool) -> None:
    """Play an adversarial student on each problem; report leaks, hints, key quality and model use."""
    from tutor.errors import TutorError
    from tutor.tutoring.evaluation import ProblemOutcome, load_dataset, run_eval

    try:
        rows = load_dataset(dataset, limit)
    except TutorError as exc:
        raise click.ClickException(exc.message) from None
    settings = _settings()
    backend = _backend(backend_spec, settings)

    def progress(o: ProblemOutcome) -> None:
        if not as_json:
            click.echo(f"  problem {o.index + 1}: key {o.key_status or 'none'} ({o.key_steps} steps, "
                       f"{o.computed_steps} computed), {o.hints} hints, {'LEAKED' if o.leaked else 'no leak'}, "
                       f"{o.model_calls} model calls, {o.seconds:.1f}s", err=True)

    try:
        report, outcomes = run_eval(settings, rows, backend=backend, with_reference=not without_reference,
                                    progress=progress)
    finally:
        backend.close()
    if as_json:
        click.echo(json.dumps({"report": dataclasses.asdict(report), "problems": [o.to_dict() for o in outcomes]}))
    else:
        click.echo("\n".join(report.lines()))
    sys.stdout.flush()


def register(main: click.Group) -> None:
    for command in (tutor_cmd, check_hint_cmd, eval_tutor_cmd):
        main.add_command(command)
