"""`mathtutor settings`: every setting, its environment variable, default and help."""

from __future__ import annotations

import click

from tutor.settings import iter_settings, iter_values, load_settings


@click.command("settings")
@click.option("--markdown", is_flag=True, help="Print a Markdown table (as in the README).")
@click.option("--current", is_flag=True, help="Also show the value in effect (secrets masked).")
def settings_cmd(markdown: bool, current: bool) -> None:
    """List every MATHTUTOR_* setting with its default and meaning."""
    if markdown:
        click.echo(settings_table())
        return
    values = dict(_current_values()) if current else {}
    for name, default, help_text in iter_settings():
        click.echo(f"{name}={values.get(name, format_value(default))}\n    {help_text}")


def format_value(value) -> str:
    """A setting's value as it would be written in the environment (tuples comma-joined)."""
    if value in ("", None):
        return ""
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return str(value)


def settings_table() -> str:
    """The Markdown table of every setting, as the README's Settings section holds it."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, default, help_text in iter_settings():
        shown = format_value(default)
        rows.append(f"| `{name}` | {f'`{shown}`' if shown else ''} | {help_text} |")
    return "\n".join(rows)


def _current_values():
    for name, value, secret in iter_values(load_settings()):
        yield name, "***" if secret and value else format_value(value)


def register(main: click.Group) -> None:
    main.add_command(settings_cmd)
