"""`mathtutor settings`: every setting, its environment variable, default and help."""

from __future__ import annotations

import click

from tutor.settings import iter_settings, load_settings


def register(main: click.Group) -> None:
    @main.command("settings")
    @click.option("--markdown", is_flag=True, help="Print a Markdown table (as in the README).")
    @click.option("--current", is_flag=True, help="Also show the value in effect (secrets masked).")
    def settings_cmd(markdown: bool, current: bool) -> None:
        """List every MATHTUTOR_* setting with its default and meaning."""
        values = dict(_current_values()) if current else {}
        if markdown:
            click.echo("| variable | default | meaning |\n| --- | --- | --- |")
        for name, default, help_text in iter_settings():
            shown = "" if default in ("", None) else str(default)
            if markdown:
                click.echo(f"| `{name}` | `{shown}` | {help_text} |")
            else:
                click.echo(f"{name}={values.get(name, shown)}\n    {help_text}")


def _current_values():
    import dataclasses
    settings = load_settings()

    def walk(obj, prefix):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                yield from walk(value, prefix + f.metadata.get("prefix", f.name.upper() + "_"))
            else:
                yield prefix + f.name.upper(), "***" if f.metadata.get("secret") and value else str(value)

    yield from walk(settings, "MATHTUTOR_")
