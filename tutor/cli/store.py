"""`mathtutor db|user|class|learner|export`: the store from the command line, for scripted hosting."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from tutor.errors import TutorError
from tutor.settings import load_settings

CLI_ACTOR = "cli"


@contextmanager
def _store(*, check_schema: bool = True) -> Iterator["Store"]:  # type: ignore[name-defined]  # noqa: F821
    from tutor.store import open_store
    try:
        store = open_store(load_settings())
    except TutorError as exc:
        raise click.ClickException(exc.message) from None
    try:
        if check_schema:
            store.require_current()
        yield store
    except TutorError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        store.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("no password on standard input")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _user_named(store, name: str):
    user = store.user_by_name(name)
    if user is None:
        raise click.ClickException(f"no user named {name!r}")
    return user


def _class_named(store, name: str):
    found = store.class_by_name(name)
    if found is None:
        raise click.ClickException(f"no class named {name!r}")
    return found


def register(main: click.Group) -> None:
    @main.group("db")
    def db() -> None:
        """Database schema: migrate, show the revision."""

    @db.command("upgrade")
    @click.argument("revision", default="head")
    @click.option("--sql", is_flag=True, help="Print the SQL instead of running it (for a DBA to review).")
    def db_upgrade(revision: str, sql: bool) -> None:
        """Run the migrations up to REVISION (default: head). Creates the SQLite file if needed."""
        with _store(check_schema=False) as store:
            if sql:
                from tutor.store.migrate import upgrade_sql
                upgrade_sql(store.engine, sys.stdout, revision)
                return
            store.upgrade(revision)
            click.echo(f"{store.url}: at {store.current_revision()}")

    @db.command("downgrade")
    @click.argument("revision", default="-1")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def db_downgrade(revision: str, yes: bool) -> None:
        """Undo migrations down to REVISION (default: one step; `base` drops every table and its data)."""
        with _store(check_schema=False) as store:
            if not yes:
                click.confirm(f"Downgrade {store.url} to {revision}? Data in dropped tables is lost", abort=True)
            store.downgrade(revision)
            click.echo(f"{store.url}: at {store.current_revision() or 'base'}")

    @db.command("current")
    def db_current() -> None:
        """Show the database's migration revision and the code's head."""
        with _store(check_schema=False) as store:
            current, head = store.current_revision(), store.head_revision()
            click.echo(f"database: {store.url}\ncurrent:  {current or 'base (empty)'}\nhead:     {head}")
            if current != head:
                click.echo("run `mathtutor db upgrade` to bring it to head")

    @db.command("check")
    def db_check() -> None:
        """Fail if the models and the migrated database disagree (like `alembic check`)."""
        with _store() as store:
            diff = store.schema_diff()
            if diff:
                raise click.ClickException("models and migrations disagree:\n" + "\n".join(map(str, diff)))
            click.echo("models and migrations agree")

    @db.command("revision")
    @click.argument("message")
    @click.option("--empty", is_flag=True, help="Do not autogenerate operations from the models.")
    def db_revision(message: str, empty: bool) -> None:
        """(Developers) write the next numbered migration from the models' changes; the database must be at head."""
        from tutor.store.migrate import new_revision
        with _store() as store:
            rev = new_revision(store.engine, message, autogenerate=not empty)
            click.echo(f"wrote migration {rev}: fill in its `Why:` line and check upgrade()/downgrade()")

    @main.group("user")
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
        with _store() as store:
            password = None if no_password else _read_password(password_stdin)
            created = store.create_user(name, role, password=password, display_name=display_name)
            store.audit("user.create", actor_name=CLI_ACTOR, target_type="user", target_id=created.id,
                        target_label=created.name, details={"role": role})
            click.echo(f"created {role} {created.name} (id {created.id})")

    @user.command("list")
    @click.option("--role", type=click.Choice(["student", "teacher", "admin"]))
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    def user_list(role: str | None, as_json: bool) -> None:
        """List users."""
        with _store() as store:
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
        with _store() as store:
            found = _user_named(store, name)
            store.set_password(found.id, _read_password(password_stdin))
            store.audit("user.passwd", actor_name=CLI_ACTOR, target_type="user", target_id=found.id, target_label=name)
            click.echo(f"password of {name} changed")

    @user.command("set")
    @click.argument("name")
    @click.option("--role", type=click.Choice(["student", "teacher", "admin"]))
    @click.option("--active/--inactive", default=None, help="Allow or refuse sign-in.")
    @click.option("--display-name")
    def user_set(name: str, role: str | None, active: bool | None, display_name: str | None) -> None:
        """Change a user's role, active flag or display name."""
        with _store() as store:
            found = _user_named(store, name)
            changes = {}
            if role is not None:
                store.set_role(found.id, role)
                changes["role"] = role
            if active is not None:
                store.set_active(found.id, active)
                changes["active"] = active
            if display_name is not None:
                store.set_display_name(found.id, display_name)
                changes["display_name"] = display_name
            if not changes:
                raise click.UsageError("nothing to change: give --role, --active/--inactive or --display-name")
            store.audit("user.update", actor_name=CLI_ACTOR, target_type="user", target_id=found.id,
                        target_label=name, details=changes)
            click.echo(f"updated {name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))

    @main.group("class")
    def class_() -> None:
        """Classes: add, enroll, list."""

    @class_.command("add")
    @click.argument("name")
    @click.option("--teacher", "teachers", multiple=True, required=True, help="Teacher's user name (repeatable).")
    @click.option("--allow-solve-mode/--no-allow-solve-mode", default=False, help="May students see full solutions?")
    @click.option("--allow-hint-skip/--no-allow-hint-skip", default=False, help="May students skip to bottom-out hints?")
    def class_add(name: str, teachers: tuple[str, ...], allow_solve_mode: bool, allow_hint_skip: bool) -> None:
        """Create a class taught by the given teachers."""
        with _store() as store:
            ids = [_user_named(store, t).id for t in teachers]
            created = store.create_class(name, teachers=ids, allow_solve_mode=allow_solve_mode,
                                         allow_hint_skip=allow_hint_skip)
            store.audit("class.create", actor_name=CLI_ACTOR, target_type="class", target_id=created.id,
                        target_label=name, details={"teachers": list(teachers)})
            click.echo(f"created class {name} (id {created.id}) taught by {', '.join(teachers)}")

    @class_.command("enroll")
    @click.argument("class_name", metavar="CLASS")
    @click.argument("students", nargs=-1, required=True)
    def class_enroll(class_name: str, students: tuple[str, ...]) -> None:
        """Enroll students in a class (all are checked before any is enrolled)."""
        with _store() as store:
            found = _class_named(store, class_name)
            users = [_user_named(store, s) for s in students]
            for u in users:
                if u.role != "student":
                    raise click.ClickException(f"{u.name} is a {u.role}, not a student")
            added = [u.name for u in users if store.enroll(found.id, u.id)]
            if added:
                store.audit("class.enroll", actor_name=CLI_ACTOR, target_type="class", target_id=found.id,
                            target_label=class_name, details={"students": added})
            already = [u.name for u in users if u.name not in added]
            click.echo(f"enrolled {len(added)} in {class_name}" + (f" ({', '.join(already)} already were)" if already else ""))

    @class_.command("set")
    @click.argument("class_name", metavar="CLASS")
    @click.option("--allow-solve-mode/--no-allow-solve-mode", default=None, help="May students see full solutions?")
    @click.option("--allow-hint-skip/--no-allow-hint-skip", default=None, help="May students skip to bottom-out hints?")
    @click.option("--add-teacher", multiple=True, help="Teacher to add (repeatable).")
    @click.option("--remove-teacher", multiple=True, help="Teacher to remove (repeatable).")
    def class_set(class_name: str, allow_solve_mode: bool | None, allow_hint_skip: bool | None,
                  add_teacher: tuple[str, ...], remove_teacher: tuple[str, ...]) -> None:
        """Change a class's switches and teachers."""
        with _store() as store:
            found = _class_named(store, class_name)
            adds = [_user_named(store, t) for t in add_teacher]
            removes = [_user_named(store, t) for t in remove_teacher]
            if allow_solve_mode is None and allow_hint_skip is None and not adds and not removes:
                raise click.UsageError("nothing to change")
            store.set_class_settings(found.id, allow_solve_mode=allow_solve_mode, allow_hint_skip=allow_hint_skip)
            for t in adds:
                store.add_teacher(found.id, t.id)
            for t in removes:
                store.remove_teacher(found.id, t.id)
            changes = {k: v for k, v in (("allow_solve_mode", allow_solve_mode), ("allow_hint_skip", allow_hint_skip),
                                         ("add_teachers", [t.name for t in adds]),
                                         ("remove_teachers", [t.name for t in removes])) if v not in (None, [])}
            store.audit("class.update", actor_name=CLI_ACTOR, target_type="class", target_id=found.id,
                        target_label=class_name, details=changes)
            click.echo(f"updated {class_name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))

    @class_.command("unenroll")
    @click.argument("class_name", metavar="CLASS")
    @click.argument("students", nargs=-1, required=True)
    def class_unenroll(class_name: str, students: tuple[str, ...]) -> None:
        """Take students out of a class (their sessions stay)."""
        with _store() as store:
            found = _class_named(store, class_name)
            users = [_user_named(store, s) for s in students]
            removed = [u.name for u in users if store.unenroll(found.id, u.id)]
            if removed:
                store.audit("class.unenroll", actor_name=CLI_ACTOR, target_type="class", target_id=found.id,
                            target_label=class_name, details={"students": removed})
            click.echo(f"unenrolled {len(removed)} from {class_name}")

    @class_.command("list")
    def class_list() -> None:
        """List classes with their teachers and number of students."""
        with _store() as store:
            for c in store.list_classes():
                teachers = ", ".join(t.name for t in store.class_teachers(c.id))
                click.echo(f"{c.id:>5}  {c.name:<24} {len(store.class_students(c.id)):>4} students  teachers: {teachers}"
                           f"{'  solve-mode' if c.allow_solve_mode else ''}{'  hint-skip' if c.allow_hint_skip else ''}")

    @main.group("learner")
    def learner() -> None:
        """Privacy operations on a learner's data."""

    @learner.command("delete")
    @click.argument("name")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def learner_delete(name: str, yes: bool) -> None:
        """Delete a learner and all their data: sessions, events, code runs, hints, attempts, mastery, flags."""
        with _store() as store:
            _user_named(store, name)
            if not yes:
                click.confirm(f"Delete {name} and everything recorded about them? This cannot be undone", abort=True)
            report = store.delete_learner(name)
            click.echo(f"deleted {name}: " + ", ".join(f"{k} {v}" for k, v in report.rows.items() if v))

    @main.command("export")
    @click.option("--class", "class_name", required=True, help="Class name.")
    @click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
    def export(class_name: str, fmt: str, out: Path | None) -> None:
        """Export a class's sessions, attempts and hints as CSV or JSONL."""
        with _store() as store:
            found = _class_named(store, class_name)
            if out is None:
                count = store.export_class(found.id, fmt, sys.stdout)
            else:
                tmp = out.with_name(out.name + ".part")
                with open(tmp, "w", encoding="utf-8", newline="") as fh:
                    count = store.export_class(found.id, fmt, fh)
                tmp.replace(out)  # a half-written export never takes the place of a good one
                click.echo(f"wrote {count} rows to {out}", err=True)
            store.audit("class.export", actor_name=CLI_ACTOR, target_type="class", target_id=found.id,
                        target_label=class_name, details={"format": fmt, "rows": count})
