"""`mathtutor db|user|class|learner|export` against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from tutor.cli import main
from tutor.store import Store


@pytest.fixture
def run(db_url, monkeypatch):
    monkeypatch.setenv("MATHTUTOR_DATABASE_URL", db_url)
    monkeypatch.setenv("MATHTUTOR_STORE_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("MATHTUTOR_STORE_ARGON2_MEMORY_KIB", "1024")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, ok: bool = True):
        result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result
    return invoke


def test_cli_round_trip(run, db_url, tmp_path):
    assert "run `mathtutor db upgrade`" in run("user", "list", ok=False).output  # clear error before migrating
    assert "base (empty)" in run("db", "current").output
    assert "CREATE TABLE tutor_sessions" in run("db", "upgrade", "--sql").output
    assert "base (empty)" in run("db", "current").output  # --sql printed, ran nothing
    run("db", "upgrade")
    lines = dict(line.split(":", 1) for line in run("db", "current").output.splitlines())
    assert lines["current"].strip() == lines["head"].strip() != "base (empty)"
    run("db", "check")
    run("user", "add", "tina", "--role", "teacher", "--password-stdin", input="teacher pass 1\n")
    run("user", "add", "sam", "--role", "student", "--password-stdin", input="student pass 1\n")
    run("user", "add", "sue", "--role", "student", "--display-name", "Sue S.", "--password-stdin", input="sue pass 12\n")
    assert "already exists" in run("user", "add", "sam", "--role", "student", "--no-password", ok=False).output
    assert "at least 8" in run("user", "add", "x", "--role", "student", "--password-stdin", input="short\n",
                                ok=False).output
    assert "Invalid value" in run("user", "add", "y", "--role", "wizard", ok=False).output
    listed = [json.loads(line) for line in run("user", "list", "--json").output.splitlines()]
    assert [(u["name"], u["role"]) for u in listed] == [("sam", "student"), ("sue", "student"), ("tina", "teacher")]
    run("user", "passwd", "sam", "--password-stdin", input="new sam pass\n")
    run("user", "set", "sue", "--inactive")

    run("class", "add", "Algebra 1", "--teacher", "tina", "--allow-solve-mode")
    assert "not a student" in run("class", "enroll", "Algebra 1", "sam", "tina", ok=False).output
    assert "enrolled 2" in run("class", "enroll", "Algebra 1", "sam", "sue").output
    assert "no class named" in run("class", "enroll", "Nope", "sam", ok=False).output
    assert "2 students" in run("class", "list").output
    run("user", "add", "tom", "--role", "teacher", "--no-password")
    run("class", "set", "Algebra 1", "--allow-hint-skip", "--no-allow-solve-mode", "--add-teacher", "tom")
    listed = run("class", "list").output
    assert "hint-skip" in listed and "solve-mode" not in listed and "tina, tom" in listed
    assert "nothing to change" in run("class", "set", "Algebra 1", ok=False).output
    run("class", "set", "Algebra 1", "--allow-solve-mode", "--remove-teacher", "tom")
    assert "unenrolled 1" in run("class", "unenroll", "Algebra 1", "sue").output
    run("class", "enroll", "Algebra 1", "sue")

    store = Store(db_url)
    try:
        assert store.verify_password("sam", "new sam pass") is not None
        assert store.verify_password("sue", "sue pass 12") is None  # inactive
        sam = store.user_by_name("sam")
        session = store.create_session(sam.id, question="x+1=3")
        store.record_attempt(session.id, kind="answer", input="2", verdict="correct")
        store.record_hint(session.id, step=1, level=1, text="undo the +1")
        assert store.class_policy(sam.id).allow_solve_mode
        # each change is the admin page's operation, audited as the `cli` operator
        log = [(e.actor_name, e.action) for e in reversed(store.audit_log())]
        assert {name for name, _ in log} == {"cli"}
        assert [a for _, a in log if a.startswith("user.") and a != "user.create"] == ["user.password",
                                                                                      "user.deactivate"]
        assert [a for _, a in log if a.startswith("class.")] == [
            "class.create", "class.enroll", "class.teacher", "class.settings", "class.teacher.remove",
            "class.settings", "class.unenroll", "class.enroll"]
    finally:
        store.close()

    out = tmp_path / "alg.csv"
    run("export", "--class", "Algebra 1", "--format", "csv", "--out", str(out))
    rows = list(csv.DictReader(out.open()))
    assert [r["record"] for r in rows] == ["session", "attempt", "hint"] and rows[1]["verdict"] == "correct"
    jsonl = run("export", "--class", "Algebra 1", "--format", "jsonl").output
    assert [json.loads(line)["record"] for line in jsonl.splitlines()] == ["session", "attempt", "hint"]

    assert "Aborted" in run("learner", "delete", "sam", input="n\n", ok=False).output
    assert "tutor_sessions 1" in run("learner", "delete", "sam", "--yes").output
    assert "no user named" in run("learner", "delete", "sam", "--yes", ok=False).output
    assert [r["record"] for r in csv.DictReader(
        run("export", "--class", "Algebra 1").output.splitlines())] == []

    run("db", "downgrade", "base", "--yes")
    assert "base (empty)" in run("db", "current").output
