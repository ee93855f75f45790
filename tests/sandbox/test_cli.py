"""`mathtutor sandbox exec|check` as a user runs them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tutor.cli import main

pytestmark = pytest.mark.kernel  # every command here starts a sandbox


def test_exec_json_from_stdin():
    r = CliRunner().invoke(main, ["sandbox", "exec", "--json"], input="print(6 * 7)\n1/0\n")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["stdout"] == "42\n" and d["error"]["type"] == "ZeroDivisionError"
    assert d["error"]["message"] == "division by zero"
    assert d["timed_out"] is False and d["restarted"] is False and d["duration_s"] > 0 and d["stderr"] == ""


def test_exec_file_plain_output_and_timeout(tmp_path):
    f = tmp_path / "cell.py"
    f.write_text("from sympy import symbols, solve\nx = symbols('x')\nprint(solve(x**2 - 9, x))\n")
    r = CliRunner().invoke(main, ["sandbox", "exec", str(f)])
    assert r.exit_code == 0 and r.stdout == "[-3, 3]\n"
    f.write_text("while True:\n    pass\n")
    r = CliRunner().invoke(main, ["sandbox", "exec", "--timeout", "1", "--json", str(f)])
    assert r.exit_code == 0 and json.loads(r.stdout)["timed_out"] is True


def test_exec_reports_a_broken_sandbox_with_nonzero_exit(monkeypatch):
    monkeypatch.setenv("MATHTUTOR_SANDBOX_BWRAP", "/nonexistent/bwrap")
    r = CliRunner().invoke(main, ["sandbox", "exec", "--json"], input="print(1)")
    assert r.exit_code != 0
    assert "bwrap" in r.stderr and r.stdout == ""


def test_check_lists_every_layer():
    r = CliRunner().invoke(main, ["sandbox", "check"])
    assert r.exit_code == 0, r.output
    for layer in ("bwrap", "namespaces", "seccomp", "rlimits", "cgroup", "unprivileged_user"):
        assert layer in r.stdout
    assert "check outbound_connect" in r.stdout and "sandbox: safe" in r.stdout


def test_check_is_safe_from_any_working_directory(monkeypatch):
    # /tmp exists inside as the kernel's own tmpfs: a name that exists is not the host's directory
    monkeypatch.chdir("/tmp")
    r = CliRunner().invoke(main, ["sandbox", "check", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["state"] == "ok" and d["error"] is None
    assert d["self_check"]["checks"]["path_cwd"]["ok"] and "sandbox's own /tmp" in d["self_check"]["checks"]["path_cwd"]["detail"]


def test_check_fails_when_a_required_layer_is_missing(monkeypatch):
    monkeypatch.setenv("MATHTUTOR_SANDBOX_BWRAP", "/nonexistent/bwrap")
    r = CliRunner().invoke(main, ["sandbox", "check", "--json"])
    assert r.exit_code != 0
    d = json.loads(r.stdout)
    assert d["layers"]["bwrap"]["active"] is False and "bwrap" in d["error"]
