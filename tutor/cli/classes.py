"""`mathtutor class ...` and `mathtutor export`: classes from the command line, acting as the `cli`
operator through tutor.school (the same checks and audit entries as the admin and teacher pages)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from tutor.cli.store import class_named, open_cli_store, user_named
from tutor.school import classes
from tutor.school.access import CLI_ACTOR


@click.group("class")
def class_group() -> None:
    """Classes: add, enroll, list."""


@class_group.command("add")
@click.argument("name")
@click.option("--teacher", "teachers", multiple=True, required=True, help="Teacher's user name (repeatable).")
@click.option("--allow-solve-mode/--no-allow-solve-mode", default=False, help="May students see full solutions?")
@click.option("--allow-hint-skip/--no-allow-hint-skip", default=False, help="May students skip to bottom-out hints?")
def class_add(name: str, teachers: tuple[str, ...], allow_solve_mode: bool, allow_hint_skip: bool) -> None:
    """Create a class taught by the given teachers."""
    with open_cli_store() as store:
        ids = [user_named(store, t).id for t in teachers]
        created = classes.create_class(store, CLI_ACTOR, name, teacher_ids=ids, allow_solve_mode=allow_solve_mode,
                                       allow_hint_skip=allow_hint_skip)
        click.echo(f"created class {name} (id {created.id}) taught by {', '.join(teachers)}")


def _class_and_users(store: Any, class_name: str, names: tuple[str, ...]) -> tuple[int, list[int]]:
    """The class's id and the users' ids; every name is looked up before anything changes."""
    return class_named(store, class_name).id, [user_named(store, n).id for n in names]


@class_group.command("enroll")
@click.argument("class_name", metavar="CLASS")
@click.argument("students", nargs=-1, required=True)
def class_enroll(class_name: str, students: tuple[str, ...]) -> None:
    """Enroll students in a class (all are checked before any is enrolled)."""
    with open_cli_store() as store:
        done = classes.enroll(store, CLI_ACTOR, *_class_and_users(store, class_name, students))
        click.echo(f"enrolled {len(done.added)} in {class_name}"
                   + (f" ({', '.join(done.already)} already were)" if done.already else ""))


@class_group.command("set")
@click.argument("class_name", metavar="CLASS")
@click.option("--allow-solve-mode/--no-allow-solve-mode", default=None, help="May students see full solutions?")
@click.option("--allow-hint-skip/--no-allow-hint-skip", default=None, help="May students skip to bottom-out hints?")
@click.option("--add-teacher", multiple=True, help="Teacher to add (repeatable).")
@click.option("--remove-teacher", multiple=True, help="Teacher to remove (repeatable).")
def class_set(class_name: str, allow_solve_mode: bool | None, allow_hint_skip: bool | None,
              add_teacher: tuple[str, ...], remove_teacher: tuple[str, ...]) -> None:
    """Change a class's switches and teachers."""
    with open_cli_store() as store:
        found = class_named(store, class_name)
        adds = [user_named(store, t) for t in add_teacher]
        removes = [user_named(store, t) for t in remove_teacher]
        if allow_solve_mode is None and allow_hint_skip is None and not adds and not removes:
            raise click.UsageError("nothing to change")
        # teachers first: adding is the step that can be refused (not a teacher), before anything changed
        if adds:
            classes.add_teachers(store, CLI_ACTOR, found.id, [t.id for t in adds])
        if removes:
            classes.remove_teachers(store, CLI_ACTOR, found.id, [t.id for t in removes])
        if allow_solve_mode is not None or allow_hint_skip is not None:
            classes.set_class_settings(store, CLI_ACTOR, found.id, allow_solve_mode=allow_solve_mode,
                                       allow_hint_skip=allow_hint_skip)
        changes = {k: v for k, v in (("allow_solve_mode", allow_solve_mode), ("allow_hint_skip", allow_hint_skip),
                                     ("add_teachers", [t.name for t in adds]),
                                     ("remove_teachers", [t.name for t in removes])) if v not in (None, [])}
        click.echo(f"updated {class_name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))


@class_group.command("unenroll")
@click.argument("class_name", metavar="CLASS")
@click.argument("students", nargs=-1, required=True)
def class_unenroll(class_name: str, students: tuple[str, ...]) -> None:
    """Take students out of a class (their sessions stay)."""
    with open_cli_store() as store:
        removed = classes.unenroll(store, CLI_ACTOR, *_class_and_users(store, class_name, students))
        click.echo(f"unenrolled {len(removed)} from {class_name}")


@class_group.command("list")
def class_list() -> None:
    """List classes with their teachers and number of students."""
    with open_cli_store() as store:
        for c in store.list_classes():
            teachers = ", ".join(t.name for t in store.class_teachers(c.id))
            click.echo(f"{c.id:>5}  {c.name:<24} {len(store.class_students(c.id)):>4} students  teachers: {teachers}"
                       f"{'  solve-mode' if c.allow_solve_mode else ''}{'  hint-skip' if c.allow_hint_skip else ''}")


@click.command("export")
@click.option("--class", "class_name", required=True, help="Class name.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
def export(class_name: str, fmt: str, out: Path | None) -> None:
    """Export a class's sessions, attempts and hints as CSV or JSONL."""
    with open_cli_store() as store:
        found = class_named(store, class_name)
        if out is None:
            classes.export_class(store, CLI_ACTOR, found.id, fmt, sys.stdout)
            return
        tmp = out.with_name(out.name + ".part")
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            count = classes.export_class(store, CLI_ACTOR, found.id, fmt, fh)
        tmp.replace(out)  # a half-written export never takes the place of a good one
        click.echo(f"wrote {count} rows to {out}", err=True)


def register(main: click.Group) -> None:
    main.add_command(class_group)
    main.add_command(export)
