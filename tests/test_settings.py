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
    assert (s.solver.max_rounds, s.solver.backend_timeout_s, s.sandbox.cell_timeout_s, s.env) == (2, 1.5, 3.0, "production")


def test_grouped_settings_keep_their_environment_names():
    s = load_settings({"MATHTUTOR_DATABASE_URL": "sqlite:///x.db", "MATHTUTOR_STORE_POOL_SIZE": "3",
                       "MATHTUTOR_GRADER_TIMEOUT_S": "2.5", "MATHTUTOR_PORT": "8080", "MATHTUTOR_WEB_MAX_QUEUE": "7",
                       "MATHTUTOR_TEACHER_DATASET_DIRS": "/a, /b", "MATHTUTOR_BKT_P_INIT": "0.3"})
    assert (s.store.database_url, s.store.pool_size, s.grading.timeout_s) == ("sqlite:///x.db", 3, 2.5)
    assert (s.web.port, s.web.max_queue, s.web.teacher_dataset_dirs) == (8080, 7, ("/a", "/b"))
    assert s.tutoring.bkt_p_init == 0.3 and s.effective_database_url == "sqlite:///x.db"


def test_overrides_by_environment_name_and_by_group():
    solver = load_settings(max_rounds=2).solver
    s = load_settings({"MATHTUTOR_MAX_ROUNDS": "9"}, solver=solver, max_tokens_per_round=5, web_max_queue=5,
                      grader_timeout_s=1.5, database_url="sqlite:///y.db", store_argon2_time_cost=1,
                      sandbox_cell_timeout_s=2.0, env="production")
    # the group object replaces the environment's solver settings; a field override then applies on top of it
    assert (s.solver.max_rounds, s.solver.max_tokens_per_round) == (2, 5)
    assert (s.web.max_queue, s.grading.timeout_s, s.store.database_url) == (5, 1.5, "sqlite:///y.db")
    assert (s.store.argon2_time_cost, s.sandbox.cell_timeout_s, s.env) == (1, 2.0, "production")


@pytest.mark.parametrize("overrides, named", [
    ({"web.max_queue": 5}, "web.max_queue"),
    ({"timeout_s": 2}, "grader_timeout_s"),            # a group's field name alone is not an override key
    ({"max_round": 3}, "max_rounds"),
])
def test_an_unknown_override_is_refused_with_the_names_that_exist(overrides, named):
    with pytest.raises(TypeError, match="unknown setting override") as err:
        load_settings(**overrides)
    assert named in str(err.value)


def test_a_group_override_must_be_that_group():
    with pytest.raises(TypeError, match="solver= takes a SolverSettings"):
        load_settings(solver=load_settings().web)
    with pytest.raises(SettingsError, match="MATHTUTOR_WEB_COOKIE_SAMESITE"):
        load_settings(web_cookie_samesite="none")


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
