"""`mathtutor sandbox exec|check`: run code in a fresh sandboxed kernel; show every isolation layer."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from sandbox import KernelPool, SandboxError, SandboxUnsafe
from tutor.settings import load_settings

EXIT_SANDBOX_FAILED = 2
EXIT_UNSAFE = 3


def _pool(warm: int) -> tuple[KernelPool, tempfile.TemporaryDirectory]:
    import dataclasses
    settings = load_settings()
    # Short, private run directory: unix socket paths are limited to 107 bytes.
    tmp = tempfile.TemporaryDirectory(prefix="mathtutor-sbx-")
    config = dataclasses.replace(settings.sandbox, warm_kernels=warm)
    return KernelPool(config, Path(tmp.name)), tmp


@click.group("sandbox")
def sandbox_group() -> None:
    """Run code in the sandbox, or check its isolation layers."""


@sandbox_group.command("exec")
@click.argument("file", type=click.File("rb"), default="-")
@click.option("--timeout", type=float, default=None, help="Seconds before the cell is interrupted "
              "(default MATHTUTOR_SANDBOX_CELL_TIMEOUT_S).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the whole result.")
def exec_cmd(file, timeout: float | None, as_json: bool) -> None:
    """Run code from FILE (or stdin) in a fresh sandboxed kernel and print the result.

    Exit status 0 when the sandbox ran the code, even if the code raised; non-zero when the
    sandbox itself failed (reason on stderr)."""
    code = file.read()
    try:
        pool, tmp = _pool(warm=0)
        with tmp, pool:
            session = pool.acquire("cli")
            result = session.run(code, timeout)
    except SandboxError as exc:
        click.echo(f"sandbox failed: {exc}", err=True)
        sys.exit(EXIT_UNSAFE if isinstance(exc, SandboxUnsafe) else EXIT_SANDBOX_FAILED)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    if result.stdout:
        click.echo(result.stdout, nl=not result.stdout.endswith("\n"))
    for text in result.results:
        click.echo(text)
    if result.stderr:
        click.echo(result.stderr, err=True, nl=not result.stderr.endswith("\n"))
    if result.error:
        click.echo(result.error.traceback or f"{result.error.type}: {result.error.message}", err=True)
    if result.restarted:
        click.echo("(the kernel was restarted; its state was lost)", err=True)


@sandbox_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the health report as JSON.")
def check_cmd(as_json: bool) -> None:
    """Run the self-check and print each isolation layer's state (non-zero exit when unsafe)."""
    pool, tmp = _pool(warm=0)
    failure = None
    with tmp:
        try:
            pool.start()
        except SandboxError as exc:
            failure = exc
        health = pool.health()
        pool.close()
    if as_json:
        click.echo(json.dumps({**health, "error": str(failure) if failure else None}, indent=2))
    else:
        for name, layer in health["layers"].items():
            state = "active" if layer["active"] else (
                "MISSING (allowed)" if name in health["allowed_missing"] else "MISSING")
            click.echo(f"{name:18} {state:18} {layer['detail']}")
        for name, check in (health["self_check"].get("checks") or {}).items():
            click.echo(f"check {name:20} {'ok' if check['ok'] else 'FAILED':7} {check['detail']}")
        click.echo(f"sandbox: {'UNSAFE: ' + str(failure) if failure else 'safe'}")
    if failure is not None:
        sys.exit(EXIT_UNSAFE if isinstance(failure, SandboxUnsafe) else EXIT_SANDBOX_FAILED)


def register(main: click.Group) -> None:
    main.add_command(sandbox_group)
