"""`mathtutor grade` and `mathtutor check-step`: the answer grader and the step checker on the command line.

Both exit 0 whatever the verdict (a wrong answer is a result, not a failure); only an internal error
(no checking worker could start, the checker crashed) exits non-zero, with status 2.
"""

from __future__ import annotations

import json

import click


@click.command("grade")
@click.option("--reference", "-r", required=True, help="The reference answer (LaTeX or plain).")
@click.option("--json", "as_json", is_flag=True, help='Print {"equivalent": ..., "reason": ...}.')
@click.option("--timeout", type=float, default=None, help="Seconds allowed (default: MATHTUTOR_GRADER_TIMEOUT_S).")
@click.argument("answer")
def grade_cmd(reference: str, answer: str, as_json: bool, timeout: float | None) -> None:
    """Is ANSWER equivalent to the reference? (`x = 2` vs `2`, `1/2` vs `0.5`, sets, intervals...)"""
    from tutor.checking.grader import grade

    verdict = grade(reference, answer, timeout=_checking_timeout(timeout))
    if as_json:
        click.echo(json.dumps(verdict.to_dict(), ensure_ascii=False))
    else:
        click.echo(f"{'equivalent' if verdict.equivalent else 'not equivalent'}: {verdict.reason}")
    if verdict.internal_error:
        raise SystemExit(2)


@click.command("check-step")
@click.option("--previous", "-p", default=None, help="The line this one should follow from.")
@click.option("--problem", default=None, help="The problem text (used when there is no previous line).")
@click.option("--json", "as_json", is_flag=True, help='Print {"verdict": ..., "reason": ...}.')
@click.option("--timeout", type=float, default=None, help="Seconds allowed per line.")
@click.argument("line")
def check_step_cmd(line: str, previous: str | None, problem: str | None, as_json: bool,
                   timeout: float | None) -> None:
    """Does LINE follow from --previous (or --problem)? A LINE with several lines is checked line by line."""
    from tutor.checking.steps import check_lines, check_step, split_lines

    timeout = _checking_timeout(timeout)
    lines = split_lines(line)   # as the tutoring session splits work: LaTeX \\ breaks count too
    if len(lines) <= 1:
        verdict = check_step(line, previous, problem, timeout=timeout)
        if as_json:
            click.echo(json.dumps(verdict.to_dict(), ensure_ascii=False))
        else:
            click.echo(f"{verdict.verdict}: {verdict.reason}")
        if verdict.internal_error:
            raise SystemExit(2)
        return
    verdicts, first_bad = check_lines(lines, problem, timeout=timeout, previous=previous)
    summary = verdicts[first_bad] if first_bad is not None else verdicts[-1]
    if as_json:
        click.echo(json.dumps({**summary.to_dict(), "first_bad_line": first_bad,
                               "lines": [{"line": ln, **v.to_dict()} for ln, v in zip(lines, verdicts)]}, ensure_ascii=False))
    else:
        for i, (ln, v) in enumerate(zip(lines, verdicts)):
            marker = "->" if i == first_bad else "  "
            click.echo(f"{marker} {i + 1}. {ln}\n      {v.verdict}: {v.reason}")
    if any(v.internal_error for v in verdicts):
        raise SystemExit(2)


def _checking_timeout(timeout: float | None) -> float:
    """--timeout, else the grading setting; the checking workers are sized from the settings too
    (library code never reads them itself)."""
    from tutor.checking import workers
    from tutor.settings import load_settings

    grading = load_settings().grading
    workers.configure(grading.workers, grading.worker_memory_mb)
    return grading.timeout_s if timeout is None else timeout


def register(main: click.Group) -> None:
    main.add_command(grade_cmd)
    main.add_command(check_step_cmd)
