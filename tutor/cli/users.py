"""`mathtutor user ...` and `mathtutor learner delete`: accounts from the command line, acting as the
`cli` operator through tutor.school (the same checks and audit entries as the admin page)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from tutor.cli.store import open_cli_store, read_password, user_named
from tutor.school import users
from tutor.school.access import CLI_ACTOR


@click.group("user")
def user() -> None:
    """Users: add, list, set passwords and roles."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["student", "teacher", "admin"]), required=True)
@click.option("--display-name", default="", help="Name shown on pages (default: NAME).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--no-password", is_flag=True, help="Create without a password (cannot sign in until one is set).")
def user_add(name: str, role: str, display_name: str, password_stdin: bool, no_password: bool) -> None:
    """Create a user."""
    with open_cli_store() as store:
        password = None if no_password else read_password(password_stdin)
        created = users.create_user(store, CLI_ACTOR, name, role, password=password, display_name=display_name)
        click.echo(f"created {role} {created.name} (id {created.id})")


@user.command("list")
@click.option("--role", type=click.Choice(["student", "teacher", "admin"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def user_list(role: str | None, as_json: bool) -> None:
    """List users."""
    with open_cli_store() as store:
        for u in store.list_users(role=role):
            if as_json:
                click.echo(json.dumps({"id": u.id, "name": u.name, "display_name": u.display_name, "role": u.role,
                                       "active": u.active, "last_seen_at": u.last_seen_at and u.last_seen_at.isoformat()}))
            else:
                seen = u.last_seen_at.strftime("%Y-%m-%d %H:%M") if u.last_seen_at else "never"
                locked = "  locked" if u.locked_until and u.locked_until > datetime.now(timezone.utc) else ""
                click.echo(f"{u.id:>5}  {u.name:<24} {u.role:<8} {'active' if u.active else 'inactive':<9} "
                           f"seen {seen}{locked}")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def user_passwd(name: str, password_stdin: bool) -> None:
    """Set a user's password (also lifts a sign-in lock)."""
    with open_cli_store() as store:
        found = user_named(store, name)
        users.set_password(store, CLI_ACTOR, found.id, read_password(password_stdin))
        click.echo(f"password of {name} changed")


@user.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(["student", "teacher", "admin"]))
@click.option("--active/--inactive", default=None, help="Allow or refuse sign-in.")
@click.option("--display-name")
def user_set(name: str, role: str | None, active: bool | None, display_name: str | None) -> None:
    """Change a user's role, active flag or display name."""
    with open_cli_store() as store:
        found = user_named(store, name)
        if role is None and active is None and display_name is None:
            raise click.UsageError("nothing to change: give --role, --active/--inactive or --display-name")
        changes: dict[str, object] = {}
        if role is not None:
            users.set_role(store, CLI_ACTOR, found.id, role)
            changes["role"] = role
        if active is not None:
            users.set_active(store, CLI_ACTOR, found.id, active)
            changes["active"] = active
        if display_name is not None:
            users.set_display_name(store, CLI_ACTOR, found.id, display_name)
            changes["display_name"] = display_name
        click.echo(f"updated {name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))


@click.group("learner")
def learner() -> None:
    """Privacy operations on a learner's data."""


@learner.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def learner_delete(name: str, yes: bool) -> None:
    """Delete a learner and all their data: sessions, events, code runs, hints, attempts, mastery, flags."""
    with open_cli_store() as store:
        user_named(store, name)
        if not yes:
            click.confirm(f"Delete {name} and everything recorded about them? This cannot be undone", abort=True)
        report = store.delete_learner(name)
        click.echo(f"deleted {name}: " + ", ".join(f"{k} {v}" for k, v in report.rows.items() if v))


def register(main: click.Group) -> None:
    main.add_command(user)
    main.add_command(learner)
