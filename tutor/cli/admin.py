"""`mathtutor admin ...`: CSV roster enrolment, flags and the audit log, so a host can script what the
admin and teacher pages do without a browser. Changes go through tutor.school as the `cli` operator.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from tutor.cli.store import class_named, open_cli_store
from tutor.school.access import CLI_ACTOR
from tutor.school.flags import resolve_flag as resolve
from tutor.school.roster import apply_roster, parse_roster


@click.group("admin")
def admin() -> None:
    """Rosters, flags and the audit log."""


@admin.command("roster")
@click.argument("class_name", metavar="CLASS")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def roster(class_name: str, csv_file: Path) -> None:
    """Enroll every student of a CSV roster (header: username[,display_name][,password]) in CLASS,
    creating missing accounts; a file with any bad row changes nothing."""
    with open_cli_store() as store:
        found = class_named(store, class_name)
        results = apply_roster(store, CLI_ACTOR, found.id, parse_roster(csv_file.read_bytes()))
        for r in results:
            extra = f"  password: {r.password}" if r.password else ""
            click.echo(f"line {r.row:>4}  {r.name:<24} {r.status}{extra}")
        created = sum(r.status == "created" for r in results)
        click.echo(f"{len(results)} students in {class_name}, {created} new account(s)")


@admin.command("flags")
@click.argument("class_name", metavar="CLASS")
@click.option("--all", "show_all", is_flag=True, help="Resolved flags too.")
def flags(class_name: str, show_all: bool) -> None:
    """List the flags on a class's sessions (open ones unless --all)."""
    with open_cli_store() as store:
        found = class_named(store, class_name)
        for f in store.flags(class_id=found.id, open_only=not show_all):
            state = "open" if f.resolved_at is None else f"resolved: {f.resolution or ''}"
            note = f" — {f.note}" if f.note else ""
            click.echo(f"#{f.id:<5} session {f.session_id:<6} [{f.source}] {f.reason}{note} ({state})")


@admin.command("resolve-flag")
@click.argument("flag_id", type=int)
@click.option("--resolution", default="", help="What was done about it.")
def resolve_flag(flag_id: int, resolution: str) -> None:
    """Resolve a flag."""
    with open_cli_store() as store:
        resolve(store, CLI_ACTOR, flag_id, resolution)
        click.echo(f"resolved flag #{flag_id}")


@admin.command("audit")
@click.option("--limit", default=50, show_default=True, help="Most entries to show.")
@click.option("--action", default=None, help="Only this action, e.g. user.create.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(limit: int, action: str | None, as_json: bool) -> None:
    """The audit log of admin and teacher actions, newest first."""
    with open_cli_store() as store:
        for e in store.audit_log(limit=limit, action=action):
            if as_json:
                click.echo(json.dumps({"at": e.at.isoformat(), "actor": e.actor_name, "action": e.action,
                                       "target_type": e.target_type, "target_id": e.target_id,
                                       "target": e.target_label, "details": e.details}, default=str))
            else:
                click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor_name or '(system)':<12} {e.action:<16} "
                           f"{e.target_type or ''} {e.target_label}")


def register(main: click.Group) -> None:
    main.add_command(admin)
