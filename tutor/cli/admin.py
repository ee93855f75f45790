"""`mathtutor admin ...`: what the admin and teacher pages do that `mathtutor user|class` does not —
CSV roster enrolment, assigning teachers to an existing class, per-class settings, flags and the
audit log — so a host can script everything without a browser. Changes are audited as actor `cli`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from tutor.cli.store import CLI_ACTOR, _class_named, _store, _user_named


def register(main: click.Group) -> None:
    @main.group("admin")
    def admin() -> None:
        """Rosters, class teachers and settings, flags and the audit log."""

    @admin.command("roster")
    @click.argument("class_name", metavar="CLASS")
    @click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def roster(class_name: str, csv_file: Path) -> None:
        """Enroll every student of a CSV roster (header: username[,display_name][,password]) in CLASS,
        creating missing accounts; a file with any bad row changes nothing."""
        from tutor.school.roster import apply_roster, parse_roster
        with _store() as store:
            found = _class_named(store, class_name)
            results = apply_roster(store, found.id, parse_roster(csv_file.read_bytes()), actor_name=CLI_ACTOR)
            for r in results:
                extra = f"  password: {r.password}" if r.password else ""
                click.echo(f"line {r.row:>4}  {r.name:<24} {r.status}{extra}")
            created = sum(r.status == "created" for r in results)
            click.echo(f"{len(results)} students in {class_name}, {created} new account(s)")

    @admin.command("teach")
    @click.argument("class_name", metavar="CLASS")
    @click.argument("teachers", nargs=-1, required=True)
    def teach(class_name: str, teachers: tuple[str, ...]) -> None:
        """Make teachers (or admins) teachers of an existing class."""
        with _store() as store:
            found = _class_named(store, class_name)
            users = [_user_named(store, t) for t in teachers]
            for u in users:
                if u.role not in ("teacher", "admin"):
                    raise click.ClickException(f"{u.name} is a {u.role}; only teachers and admins can teach a class")
            for u in users:
                store.add_teacher(found.id, u.id)
            store.audit("class.teacher", actor_name=CLI_ACTOR, target_type="class", target_id=found.id,
                        target_label=found.name, details={"teachers": [u.id for u in users]})
            click.echo(f"{', '.join(teachers)} now teach{'es' if len(users) == 1 else ''} {found.name}")

    @admin.command("class-settings")
    @click.argument("class_name", metavar="CLASS")
    @click.option("--allow-solve-mode/--no-allow-solve-mode", default=None, help="May students ask for full solutions?")
    @click.option("--allow-hint-skip/--no-allow-hint-skip", default=None, help="May students skip to the worked step?")
    def class_settings(class_name: str, allow_solve_mode: bool | None, allow_hint_skip: bool | None) -> None:
        """Show or change a class's settings."""
        with _store() as store:
            found = _class_named(store, class_name)
            if allow_solve_mode is not None or allow_hint_skip is not None:
                found = store.set_class_settings(found.id, allow_solve_mode=allow_solve_mode,
                                                 allow_hint_skip=allow_hint_skip)
                store.audit("class.settings", actor_name=CLI_ACTOR, target_type="class", target_id=found.id,
                            target_label=found.name, details={"allow_solve_mode": found.allow_solve_mode,
                                                              "allow_hint_skip": found.allow_hint_skip})
            click.echo(f"{found.name}: solve mode {'allowed' if found.allow_solve_mode else 'not allowed'}, "
                       f"hint skipping {'allowed' if found.allow_hint_skip else 'not allowed'}")

    @admin.command("flags")
    @click.argument("class_name", metavar="CLASS")
    @click.option("--all", "show_all", is_flag=True, help="Resolved flags too.")
    def flags(class_name: str, show_all: bool) -> None:
        """List the flags on a class's sessions (open ones unless --all)."""
        with _store() as store:
            found = _class_named(store, class_name)
            for f in store.flags(class_id=found.id, open_only=not show_all):
                state = "open" if f.resolved_at is None else f"resolved: {f.resolution or ''}"
                note = f" — {f.note}" if f.note else ""
                click.echo(f"#{f.id:<5} session {f.session_id:<6} [{f.source}] {f.reason}{note} ({state})")

    @admin.command("resolve-flag")
    @click.argument("flag_id", type=int)
    @click.option("--resolution", default="", help="What was done about it.")
    def resolve_flag(flag_id: int, resolution: str) -> None:
        """Resolve a flag."""
        with _store() as store:
            flag = store.get_flag(flag_id)
            if flag.resolved_at is not None:
                raise click.ClickException(f"flag #{flag_id} is already resolved")
            store.resolve_flag(flag_id, resolved_by=None, resolution=resolution)
            store.audit("flag.resolve", actor_name=CLI_ACTOR, target_type="session", target_id=flag.session_id,
                        target_label=f"session #{flag.session_id}",
                        details={"flag_id": flag_id, "resolution": resolution})
            click.echo(f"resolved flag #{flag_id}")

    @admin.command("audit")
    @click.option("--limit", default=50, show_default=True, help="Most entries to show.")
    @click.option("--action", default=None, help="Only this action, e.g. user.create.")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    def audit(limit: int, action: str | None, as_json: bool) -> None:
        """The audit log of admin and teacher actions, newest first."""
        with _store() as store:
            for e in store.audit_log(limit=limit, action=action):
                if as_json:
                    click.echo(json.dumps({"at": e.at.isoformat(), "actor": e.actor_name, "action": e.action,
                                           "target_type": e.target_type, "target_id": e.target_id,
                                           "target": e.target_label, "details": e.details}, default=str))
                else:
                    click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor_name or '(system)':<12} {e.action:<16} "
                               f"{e.target_type or ''} {e.target_label}")

