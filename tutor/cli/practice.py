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


def _service(store):
    from tutor.practice.service import PracticeService
    from tutor.settings import load_settings
    return PracticeService(load_settings(), store)


@click.group("practice")
def practice() -> None:
    """A class's practice bank: dataset problems, teacher-typed ones, generated variants; its order."""


@practice.command("load")
@click.option("--class", "class_name", required=True, help="Class name.")
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False))
@click.option("--limit", type=click.IntRange(1, 5000), default=50, show_default=True, help="Problems to add at most.")
@click.option("--skill", "skills", multiple=True, help="Only these finer skills (repeatable), e.g. fractions, algebra.")
def practice_load(class_name: str, dataset: str, limit: int, skills: tuple[str, ...]) -> None:
    """Add GSM8K or MATH problems (JSONL) to the class's bank, each with its skill, difficulty and answer."""
    from tutor.cli.store import class_named, open_cli_store
    from tutor.school.access import CLI_ACTOR

    with open_cli_store() as store:
        cls = class_named(store, class_name)
        items = _service(store).load_dataset(CLI_ACTOR, cls.id, dataset, limit=limit, skills=skills)
        click.echo(f"added {len(items)} problems to the bank of {class_name}")


@practice.command("add")
@click.option("--class", "class_name", required=True, help="Class name.")
@click.option("--text", required=True, help="The problem.")
@click.option("--answer", required=True, help="Its reference answer.")
@click.option("--skill", required=True, help="Its skill (e.g. fractions, algebra).")
@click.option("--difficulty", type=click.IntRange(1, 5), default=3, show_default=True)
def practice_add(class_name: str, text: str, answer: str, skill: str, difficulty: int) -> None:
    """Add a teacher-typed problem to the class's bank."""
    from tutor.cli.store import class_named, open_cli_store
    from tutor.school.access import CLI_ACTOR

    with open_cli_store() as store:
        item = _service(store).add_problem(CLI_ACTOR, class_named(store, class_name).id, text, answer=answer,
                                           skill=skill, difficulty=difficulty)
        click.echo(f"added problem {item.problem_id} (item {item.id})")


@practice.command("list")
@click.option("--class", "class_name", required=True, help="Class name.")
@click.option("--pending", is_flag=True, help="Only generated variants waiting for approval (the preview).")
def practice_list(class_name: str, pending: bool) -> None:
    """The class's bank: item, skill, difficulty, origin, status, answer and problem text."""
    from tutor.cli.store import class_named, open_cli_store

    with open_cli_store() as store:
        for item in store.practice_items(class_named(store, class_name).id, status="pending" if pending else None):
            problem = store.get_problem(item.problem_id)
            click.echo(f"#{item.id}\t{item.skill}\td{item.difficulty}\t{item.origin}\t{item.status}\t"
                       f"answer {problem.reference_answer}\t{problem.text[:100]!r}")
            if item.evidence:
                click.echo(f"\tconfirmed: {item.evidence}")


@practice.command("generate")
@click.option("--class", "class_name", required=True, help="Class name.")
@click.option("--skill", required=True, help="Skill whose bank problems the variants are made from.")
@click.option("--count", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--model", "use_model", is_flag=True, help="Ask the configured model (else SymPy templates of the "
                                                         "dataset problems).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the templates' new numbers.")
def practice_generate(class_name: str, skill: str, count: int, use_model: bool, seed: int) -> None:
    """Make variants whose answers are computed and confirmed twice; unconfirmed ones are discarded."""
    from tutor.cli.store import class_named, open_cli_store
    from tutor.school.access import CLI_ACTOR

    with open_cli_store() as store:
        svc = _service(store)
        backend = tutor = None
        if use_model:
            from tutor.tutoring.service import TutorService
            tutor = TutorService.from_settings(svc.settings, store=store)
            backend = tutor.backend
        try:
            items, discarded = svc.generate(CLI_ACTOR, class_named(store, class_name).id, skill, count,
                                            backend=backend, seed=seed,
                                            kernel=(lambda: tutor.kernels.fresh(0, "variant")) if tutor else None)
        finally:
            if tutor is not None:
                tutor.close()
        for item in items:
            click.echo(f"#{item.id} {item.status}: {store.get_problem(item.problem_id).text[:100]!r}")
        for why in discarded:
            click.echo(f"discarded: {why}")
        click.echo(f"{len(items)} confirmed, {len(discarded)} discarded")


@practice.command("approve")
@click.argument("items", nargs=-1, type=int, required=True)
def practice_approve(items: tuple[int, ...]) -> None:
    """Let students see these confirmed variants."""
    from tutor.cli.store import open_cli_store
    from tutor.school.access import CLI_ACTOR

    with open_cli_store() as store:
        svc = _service(store)
        for item_id in items:
            svc.approve(CLI_ACTOR, item_id)
        click.echo(f"approved {len(items)}")


@practice.command("order")
@click.option("--class", "class_name", required=True, help="Class name.")
@click.argument("order", type=click.Choice(["adaptive", "fixed"]))
@click.option("--auto-approve/--no-auto-approve", default=None, help="Show confirmed variants without a preview.")
def practice_order(class_name: str, order: str, auto_approve: bool | None) -> None:
    """Adaptive (by mastery) or fixed order (the bank's order) for the class's Next problem."""
    from tutor.cli.store import class_named, open_cli_store
    from tutor.school.access import CLI_ACTOR

    with open_cli_store() as store:
        cls = class_named(store, class_name)
        svc = _service(store)
        svc.set_order(CLI_ACTOR, cls.id, order)
        if auto_approve is not None:
            svc.set_auto_approve(CLI_ACTOR, cls.id, auto_approve)
        click.echo(f"{class_name}: {order} order")


@click.command("fit")
@click.option("--class", "class_name", required=True, help="Class name.")
@click.option("--dry-run", is_flag=True, help="Print the fit without saving it.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per skill.")
def learner_fit(class_name: str, dry_run: bool, as_json: bool) -> None:
    """Fit BKT parameters per skill from the class's attempt history (skills with little history keep the
    defaults); the tutor then uses them for the class."""
    from tutor.cli.store import class_named, open_cli_store
    from tutor.practice.fit import fit_class

    with open_cli_store() as store:
        svc = _service(store)
        fits = fit_class(store, class_named(store, class_name).id, svc.defaults, save=not dry_run)
        for f in fits:
            p = f.params
            if as_json:
                click.echo(json.dumps({"skill": f.skill, "fitted": f.fitted, "observations": f.observations,
                                       "students": f.students, "p_init": p.p_init, "p_learn": p.p_learn,
                                       "p_guess": p.p_guess, "p_slip": p.p_slip}))
            else:
                state = "fitted" if f.fitted else "defaults kept (too little history)"
                click.echo(f"{f.skill}: {state}; {f.observations} observations from {f.students} students; "
                           f"p_init {p.p_init:g} p_learn {p.p_learn:g} p_guess {p.p_guess:g} p_slip {p.p_slip:g}")
        if not fits:
            click.echo("no attempt history in this class yet; the defaults stay")


def register(main: click.Group) -> None:
    main.add_command(practice_sim)
    main.add_command(practice)
    learner = main.commands.get("learner")   # `mathtutor learner` (tutor.cli.users) gains `fit`
    if isinstance(learner, click.Group):
        learner.add_command(learner_fit)
    else:
        group = click.Group("learner", help="The learner model and learners' data.")
        group.add_command(learner_fit)
        main.add_command(group)
