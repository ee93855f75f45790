"""The ops commands as an admin types them: backup then restore into another data dir, the printed
pg_dump/pg_restore commands (no password on them), and the systemd unit."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tutor.cli import main
from tutor.settings import load_settings
from tutor.store import open_store


def test_backup_then_restore_into_another_data_dir(tmp_path, monkeypatch):
    store = open_store(load_settings(), upgrade=True)
    store.create_user("ada", "student")
    store.close()
    runner = CliRunner()
    made = runner.invoke(main, ["backup", "--to", str(tmp_path / "b")])
    assert made.exit_code == 0, made.output
    assert "(1 accounts, 0 sessions, 0 events)" in made.output
    archive = made.output.split("backup written: ")[1].split(" (")[0]

    monkeypatch.setenv("MATHTUTOR_DATA_DIR", str(tmp_path / "elsewhere"))
    done = runner.invoke(main, ["restore", archive])
    assert done.exit_code == 0, done.output
    assert "restored-settings.env" in done.output
    store = open_store(load_settings())
    assert store.user_by_name("ada") is not None
    store.close()
    again = runner.invoke(main, ["restore", archive])
    assert again.exit_code == 1 and "--force" in again.output


def test_backup_print_shows_pg_commands_without_the_password(monkeypatch, tmp_path):
    monkeypatch.setenv("MATHTUTOR_DATABASE_URL", "postgresql+psycopg://tutor:s3cret@db.school:5433/mathtutor")
    out = CliRunner().invoke(main, ["backup", "--print", "--to", str(tmp_path)]).output
    assert "pg_dump --format=custom" in out and "pg_restore --clean" in out
    assert "--dbname=postgresql://tutor@db.school:5433/mathtutor" in out and "s3cret" not in out


def test_restore_of_a_file_that_is_no_backup_is_refused(tmp_path):
    bad = tmp_path / "x.tar.gz"
    bad.write_text("hello")
    result = CliRunner().invoke(main, ["restore", str(bad)])
    assert result.exit_code == 1 and "not a mathtutor backup" in result.output


def test_the_service_unit_runs_serve_as_its_user_restarts_and_logs_to_the_journal(tmp_path):
    out = CliRunner().invoke(main, ["service-unit"]).output
    for line in ("User=mathtutor", "ExecStart=/opt/mathtutor/venv/bin/mathtutor serve", "Restart=on-failure",
                 "Environment=MATHTUTOR_DATA_DIR=/var/lib/mathtutor", "StandardError=journal",
                 "Environment=MATHTUTOR_LOG_FORMAT=json", "WantedBy=multi-user.target"):
        assert line in out.splitlines()
    exe = shutil.which("mathtutor", path=str(tmp_path.parent)) or str(
        __import__("pathlib").Path(sys.executable).with_name("mathtutor"))
    mine = CliRunner().invoke(main, ["service-unit", "--user", "root", "--exec", exe, "--data-dir", str(tmp_path)]).output
    assert f"ExecStart={exe} serve" in mine and f"ReadWritePaths={tmp_path}" in mine and "User=root" in mine
    bad = CliRunner().invoke(main, ["service-unit", "--data-dir", "/srv/my data"])
    assert bad.exit_code == 2 and "may not hold spaces" in bad.output
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "mathtutor.service"
    unit.write_text(mine)
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr
