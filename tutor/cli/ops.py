"""`mathtutor model check`, `backup`, `restore`, `doctor` and `service-unit`: keeping an install running
(the work is in tutor/ops/; these only read settings, call it and print)."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import click

from tutor.errors import TutorError
from tutor.settings import SettingsError, load_settings

UNIT_FILE = "mathtutor.service"
# The unit's defaults, replaced by `service-unit`'s options.
UNIT_DEFAULTS = {"user": "mathtutor", "data_dir": "/var/lib/mathtutor",
                 "exec": "/opt/mathtutor/venv/bin/mathtutor", "env_file": "/etc/mathtutor/mathtutor.env"}


def _settings():
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _emit(report, as_json: bool) -> None:
    click.echo(json.dumps(report.to_dict(), indent=2, default=str) if as_json else report.text())
    if report.failed:
        sys.exit(1)


@click.group("model")
def model_group() -> None:
    """The model's files: check a folder or cached hub id before serving it."""


@model_group.command("check")
@click.argument("model", required=False)
@click.option("--sessions", type=click.IntRange(min=1), default=None,
              help="Concurrent sessions whose KV cache must fit (default MATHTUTOR_WEB_MAX_CONCURRENT_TURNS).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def model_check(model: str | None, sessions: int | None, as_json: bool) -> None:
    """Check MODEL (a folder or a hub id in the local cache; default MATHTUTOR_MODEL) without loading its
    weights: shape against DeepSeekMath-7B, tokenizer and prompt round trip, dtype and size, GPU memory.
    Exit status 1 when it cannot be served; another model only warns."""
    from tutor.ops.modelcheck import check_model
    settings = _settings()
    report = check_model(model or settings.solver.model, sessions=sessions or settings.web.max_concurrent_turns,
                         context_tokens=settings.solver.context_tokens, dtype=settings.solver.dtype)
    _emit(report, as_json)


@click.command("backup")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the archive (default DATA_DIR/backups).")
@click.option("--print", "print_only", is_flag=True,
              help="Only print the commands that back up and restore the configured store (pg_dump/pg_restore).")
def backup_cmd(to: Path | None, print_only: bool) -> None:
    """Copy the store (consistent while the app runs), the secret key and the settings into one archive."""
    from tutor.ops import backup as ops
    settings = _settings()
    url = settings.effective_database_url
    if print_only:
        db = ops.sqlite_path(url)
        if db is not None:
            click.echo(f"sqlite3 {db} \".backup '{(to or ops.default_dir(settings)) / 'mathtutor.db'}'\"")
        else:
            dump = (to or ops.default_dir(settings)) / ops.PG_MEMBER
            click.echo("# password, if any: in PGPASSWORD (never on the command line)")
            click.echo(" ".join(ops.pg_dump_argv(url, dump)))
            click.echo(" ".join(ops.pg_restore_argv(url, dump)))
        return
    try:
        result = ops.backup(settings, to)
    except TutorError as exc:
        raise click.ClickException(exc.message) from None
    for command in result.commands:
        click.echo(f"ran: {command}")
    counts = result.manifest.get("counts")
    click.echo(f"backup written: {result.path}" + (
        f" ({counts['users']} accounts, {counts['tutor_sessions']} sessions, {counts['events']} events)" if counts else ""))


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a store that holds data (it is backed up first). Stop the "
              "service before.")
def restore_cmd(archive: Path, force: bool) -> None:
    """Restore ARCHIVE (from `mathtutor backup`) into the configured store and data dir."""
    from tutor.ops import backup as ops
    settings = _settings()
    try:
        result = ops.restore(settings, archive, force=force)
    except TutorError as exc:
        raise click.ClickException(exc.message) from None
    for line in result.commands:
        click.echo(line)
    click.echo(f"restored {archive} into {settings.effective_database_url.split('@')[-1]}")
    click.echo(f"the settings it was taken with: {Path(settings.data_dir) / 'restored-settings.env'} "
               "(compare with the service's environment file)")
    from tutor.store import open_store
    store = open_store(settings)
    try:
        if store.current_revision() != store.head_revision():
            click.echo("its schema is older than this version's: `mathtutor serve` migrates it at start "
                       "(after a backup), or run `mathtutor db upgrade`")
    finally:
        store.close()


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-sandbox", is_flag=True, help="Skip starting a probe kernel for the sandbox self-check.")
def doctor_cmd(as_json: bool, no_sandbox: bool) -> None:
    """Check every part of this install (sandbox, store, disk, model, GPU, secret key, address, TLS); each
    line says ok, warn or fail and how to fix it. Exit status 1 when anything fails."""
    from tutor.ops.doctor import doctor
    _emit(doctor(_settings(), sandbox=not no_sandbox), as_json)


def unit_text(**values: str | None) -> str:
    """The packaged unit with the given account and paths put into the lines that name them."""
    import re
    text = resources.files("tutor.ops").joinpath(UNIT_FILE).read_text(encoding="utf-8")
    for key, value in values.items():
        if not value:
            continue
        if any(c.isspace() for c in value) or "%" in value or "$" in value:
            raise click.BadParameter(f"{value!r}: unit names and paths may not hold spaces, % or $")
        for line in _UNIT_LINES[key]:
            text = re.sub(rf"(?m)^{re.escape(line)}{re.escape(UNIT_DEFAULTS[key])}(?=\s|$)",
                          lambda _m, new=line + value: new, text)
    return text


_UNIT_LINES = {"user": ("User=", "Group="), "data_dir": ("Environment=MATHTUTOR_DATA_DIR=", "WorkingDirectory=",
                                                        "ReadWritePaths="),
               "exec": ("ExecStart=",), "env_file": ("EnvironmentFile=-",)}


@click.command("service-unit")
@click.option("--user", default=None, help=f"Account the service runs as (default {UNIT_DEFAULTS['user']}).")
@click.option("--data-dir", default=None, help=f"MATHTUTOR_DATA_DIR (default {UNIT_DEFAULTS['data_dir']}).")
@click.option("--exec", "exec_", default=None, help=f"The mathtutor program (default {UNIT_DEFAULTS['exec']}).")
@click.option("--env-file", default=None, help=f"Environment file with the settings (default {UNIT_DEFAULTS['env_file']}).")
def service_unit(user: str | None, data_dir: str | None, exec_: str | None, env_file: str | None) -> None:
    """Print the systemd unit that runs `mathtutor serve` at boot (save it as
    /etc/systemd/system/mathtutor.service)."""
    click.echo(unit_text(user=user, data_dir=data_dir, exec=exec_, env_file=env_file), nl=False)


def register(main: click.Group) -> None:
    for command in (model_group, backup_cmd, restore_cmd, doctor_cmd, service_unit):
        main.add_command(command)
