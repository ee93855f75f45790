"""`mathtutor practice-sim`, `mathtutor practice ...` (a class's bank, variants) and `mathtutor learner fit`.

The work is done in tutor/practice/; these only read options, print, and turn a TutorError into a
clear message.
"""

from __future__ import annotations

import json

import click


def _params(p_init: float, p_learn: float, p_guess: float, p_slip: float):
    from tutor.errors import TutorError
    from tutor.tutoring.learner import BKTParams

    try:
        return BKTParams(p_init=p_init, p_learn=p_learn, p_guess=p_guess, p_slip=p_slip)
    except TutorError as exc:
        raise click.BadParameter(exc.message) from None


def _prob(name: str):
    return click.option(f"--{name.replace('_', '-')}", name, type=click.FloatRange(0.0, 1.0), show_default=True,
                        default={"p_init": 0.2, "p_learn": 0.15, "p_guess": 0.2, "p_slip": 0.1}[name],
                        help=f"BKT {name} of the simulated learners (and of the estimate that judges mastery).")


@click.command("practice-sim")
@click.option("--learners", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Simulated learners per policy.")
@click.option("--skills", type=click.IntRange(1, 100), default=5, show_default=True, help="Skills each must master.")
@_prob("p_init")
@_prob("p_learn")
@_prob("p_guess")
@_prob("p_slip")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same learners for both orders).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def practice_sim(learners: int, skills: int, p_init: float, p_learn: float, p_guess: float, p_slip: float,
                 seed: int, as_json: bool) -> None:
    """Simulated BKT learners through the next-problem policy and through random order: mean problems
    until every skill is mastered."""
    from tutor.practice.simulation import simulate

    result = simulate(learners=learners, skills=skills, params=_params(p_init, p_learn, p_guess, p_slip), seed=seed)
    if as_json:
        click.echo(json.dumps({name: outcome.to_dict() for name, outcome in result.items()}))
        return
    adaptive, rand = result["adaptive"], result["random"]
    for name, outcome in result.items():
        click.echo(f"{name:>8}: {outcome.mean_problems_to_mastery:7.2f} problems on average to master all {skills} "
                   f"skills (median {outcome.median:g}, {outcome.unfinished} unfinished)")
    ratio = adaptive.mean_problems_to_mastery / rand.mean_problems_to_mastery if rand.mean_problems_to_mastery else 0
    click.echo(f"adaptive needs {ratio:.0%} of random order's problems")


def register(main: click.Group) -> None:
    main.add_command(practice_sim)
