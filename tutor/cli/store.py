"""`mathtutor db ...`: the store's schema from the command line; and the store as every command that
reads or changes users and classes opens it (schema checked, errors as one clear line)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click

from tutor.errors import TutorError
from tutor.settings import load_settings

if TYPE_CHECKING:
    from tutor.store import ClassRecord, Store, UserRecord


@contextmanager
def open_cli_store(*, check_schema: bool = True) -> Iterator[Store]:
    """The configured store; any TutorError inside the block becomes a one-line error and exit status 1."""
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


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("no password on standard input")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def user_named(store: Store, name: str) -> UserRecord:
    user = store.user_by_name(name)
    if user is None:
        raise click.ClickException(f"no user named {name!r}")
    return user


def class_named(store: Store, name: str) -> ClassRecord:
    found = store.class_by_name(name)
    if found is None:
        raise click.ClickException(f"no class named {name!r}")
    return found


@click.group("db")
def db() -> None:
    """Database schema: migrate, show the revision."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it (for a DBA to review).")
def db_upgrade(revision: str, sql: bool) -> None:
    """Run the migrations up to REVISION (default: head). Creates the SQLite file if needed."""
    with open_cli_store(check_schema=False) as store:
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
    with open_cli_store(check_schema=False) as store:
        if not yes:
            click.confirm(f"Downgrade {store.url} to {revision}? Data in dropped tables is lost", abort=True)
        store.downgrade(revision)
        click.echo(f"{store.url}: at {store.current_revision() or 'base'}")


@db.command("current")
def db_current() -> None:
    """Show the database's migration revision and the code's head."""
    with open_cli_store(check_schema=False) as store:
        current, head = store.current_revision(), store.head_revision()
        click.echo(f"database: {store.url}\ncurrent:  {current or 'base (empty)'}\nhead:     {head}")
        if current != head:
            click.echo("run `mathtutor db upgrade` to bring it to head")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrated database disagree (like `alembic check`)."""
    with open_cli_store() as store:
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
    with open_cli_store() as store:
        rev = new_revision(store.engine, message, autogenerate=not empty)
        click.echo(f"wrote migration {rev}: fill in its `Why:` line and check upgrade()/downgrade()")


def register(main: click.Group) -> None:
    main.add_command(db)
