"""Settings: read from the environment with clear errors, every one documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tutor.cli import main
from tutor.cli.config import settings_table
from tutor.settings import SettingsError, iter_settings, load_settings

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def test_every_setting_has_help_and_the_readme_table_is_current():
    for name, _default, help_text in iter_settings():
        assert help_text.strip(), f"{name} has no help text"
    text = README.read_text(encoding="utf-8")
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == settings_table(), "README's settings table is stale: paste `mathtutor settings --markdown`"


def test_values_are_read_and_typed_from_the_environment():
    s = load_settings({"MATHTUTOR_MAX_ROUNDS": "2", "MATHTUTOR_BACKEND_TIMEOUT_S": "1.5",
                       "MATHTUTOR_SANDBOX_CELL_TIMEOUT_S": "3", "MATHTUTOR_ENV": "production"})
    assert (s.max_rounds, s.backend_timeout_s, s.sandbox.cell_timeout_s, s.env) == (2, 1.5, 3.0, "production")


@pytest.mark.parametrize("env, named", [
    ({"MATHTUTOR_MAX_ROUNDS": "four"}, "MATHTUTOR_MAX_ROUNDS"),
    ({"MATHTUTOR_ENV": "staging"}, "MATHTUTOR_ENV"),
    ({"MATHTUTOR_SANDBOX_CELL_TIMEOUT_S": "soon"}, "MATHTUTOR_SANDBOX_CELL_TIMEOUT_S"),
])
def test_a_bad_value_is_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_production_refuses_the_default_secret():
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(env="production").check_production()
    load_settings(env="production", secret_key="x" * 40).check_production()


def test_the_cli_masks_secrets():
    result = CliRunner().invoke(main, ["settings", "--current"], env={"MATHTUTOR_SECRET_KEY": "hunter2-" * 5})
    assert result.exit_code == 0
    assert "hunter2" not in result.output and "MATHTUTOR_SECRET_KEY=***" in result.output
