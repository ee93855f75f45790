"""`mathtutor check-work`: a whole worked solution against a key, on the command line.

Prints whether the work is correct, the first line (counting non-empty lines) that departs from every
correct path, the kind of confusion, and the focused question the tutor would ask. Exits 0 whatever
the verdict; a key that cannot be built or a checker that cannot run exits non-zero with a message.
"""

from __future__ import annotations

import json

import click


@click.command("check-work")
@click.option("--problem", required=True, help="The problem text.")
@click.option("--reference-solution", default=None,
              help="A teacher's worked solution (GSM8K-style lines such as '12+3=15'); its values are recomputed.")
@click.option("--reference", default=None, help="Just the reference answer.")
@click.option("--backend", "backend_spec", default=None,
              help="Build the key with this model backend (e.g. replay:FILE) when there is no reference.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"correct": ..., "first_wrong_line": ..., "kind": ..., "feedback": ...}.')
@click.option("--timeout", type=float, default=None, help="Seconds allowed for the checking (default: the setting).")
@click.argument("work_file", type=click.File("r", encoding="utf-8"), default="-")
def check_work_cmd(problem: str, reference_solution: str | None, reference: str | None, backend_spec: str | None,
                   as_json: bool, timeout: float | None, work_file) -> None:
    """Check the worked solution in WORK_FILE (or standard input) line by line against the key."""
    from tutor.checking import workers
    from tutor.checking.work import check_work
    from tutor.checking.workers import WorkerError
    from tutor.checking.workkey import WorkKeyError, key_from_solution, key_from_steps
    from tutor.settings import load_settings

    if sum(x is not None for x in (reference_solution, reference, backend_spec)) != 1:
        raise click.UsageError("give exactly one of --reference-solution, --reference or --backend")
    settings = load_settings()
    workers.configure(settings.grading.workers, settings.grading.worker_memory_mb)
    timeout = settings.grading.timeout_s if timeout is None else timeout
    work = work_file.read()
    if not work.strip():
        raise click.UsageError("the work is empty")
    try:
        if reference_solution is not None:
            key = key_from_solution(problem, reference_solution, timeout)
        elif reference is not None:
            if not reference.strip():
                raise click.UsageError("--reference is empty")
            key = key_from_steps(problem, reference, [("the answer", reference)])
        else:
            key = _model_key(problem, backend_spec, settings)
        verdict = check_work(work, key, timeout)
    except WorkKeyError as exc:
        raise click.ClickException(str(exc)) from None
    except WorkerError as exc:
        raise click.ClickException(f"the checker is unavailable: {exc}") from None
    if as_json:
        click.echo(json.dumps(verdict.to_dict(), ensure_ascii=False))
    elif verdict.correct:
        click.echo(f"correct: {verdict.feedback}")
    else:
        where = f"line {verdict.first_wrong_line}" if verdict.first_wrong_line else "no line"
        click.echo(f"not correct: first wrong {where} ({verdict.kind})\n  {verdict.line_text}\n{verdict.feedback}")


def _model_key(problem: str, spec: str, settings):
    """The model's key, solved privately (chain of thought: no kernel on the command line), as quantities."""
    from tutor.checking.workkey import WorkKeyError, key_from_steps
    from tutor.errors import TutorError
    from tutor.solver.backends import get_backend
    from tutor.tutoring.key import prepare_key

    try:
        backend = get_backend(spec, settings.solver)
    except TutorError as exc:
        raise click.ClickException(exc.message) from None
    try:
        key = prepare_key(problem, backend=backend, runner=None, settings=settings)
    finally:
        backend.close()
    if not key.answer:
        raise WorkKeyError(f"the model found no answer: {key.verification}")
    return key_from_steps(problem, key.answer, [(s.description, s.result) for s in key.steps])


def register(main: click.Group) -> None:
    main.add_command(check_work_cmd)
