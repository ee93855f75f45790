"""Admin actions on the store (SQLite and PostgreSQL): users, classes, CSV rosters (all-or-nothing), the
audit trail they leave, the service status report, and the same operations from `mathtutor admin`."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from app.admin_actions import AdminActions
from app.admin_status import StatusBoard, status_markdown
from app.metrics import Metrics
from tutor.errors import BadInput, NotFound
from tutor.store import AlreadyExists
from tutor.school.roster import parse_roster

PW = "correct horse battery"


@pytest.fixture
def admin(store):
    actor = store.create_user("adam", "admin", password=PW)
    return SimpleNamespace(store=store, actor=actor, actions=AdminActions(SimpleNamespace(store=store)))


def test_users_are_created_deactivated_reset_and_promoted_with_an_audit_trail(admin):
    a, store = admin.actions, admin.store
    tina = a.create_user(admin.actor, " tina ", "Tina Teacher", "teacher", "password123")
    assert (tina.name, tina.display_name, tina.role) == ("tina", "Tina Teacher", "teacher")
    assert store.login("tina", "password123").ok
    with pytest.raises(AlreadyExists):
        a.create_user(admin.actor, "TINA", "", "student", "password123")
    with pytest.raises(BadInput, match="at least 8"):
        a.create_user(admin.actor, "tom", "", "student", "short")
    with pytest.raises(BadInput, match="choose a role"):
        a.create_user(admin.actor, "tom", "", "wizard", "password123")
    assert store.user_by_name("tom") is None
    a.set_active(admin.actor, tina.id, False)
    assert store.login("tina", "password123").reason == "inactive"
    a.set_active(admin.actor, tina.id, True)
    a.reset_password(admin.actor, tina.id, "new password 42")
    assert store.login("tina", "new password 42").ok and not store.login("tina", "password123").ok
    a.set_role(admin.actor, tina.id, "admin")
    assert store.get_user(tina.id).role == "admin"
    # an admin cannot lock themselves out
    with pytest.raises(BadInput, match="your own account"):
        a.set_active(admin.actor, admin.actor.id, False)
    with pytest.raises(BadInput, match="your own account"):
        a.set_role(admin.actor, admin.actor.id, "teacher")
    with pytest.raises(BadInput, match="choose a user"):
        a.set_active(admin.actor, None, False)
    with pytest.raises(NotFound):
        a.reset_password(admin.actor, 99999, "password123")
    log = [(e.action, e.target_label) for e in reversed(store.audit_log())]
    assert log == [("user.create", "tina"), ("user.deactivate", "tina"), ("user.activate", "tina"),
                   ("user.password", "tina"), ("user.role", "tina")]
    assert all(e.actor_name == "adam" for e in store.audit_log())
    assert "password" not in str([e.details for e in store.audit_log()]).replace("user.password", "")
    frame = a.users_frame()
    assert frame[frame["user"] == "tina"].iloc[0]["role"] == "admin"


def test_classes_teachers_and_enrolment(admin):
    a, store = admin.actions, admin.store
    tina = store.create_user("tina", "teacher")
    sam = store.create_user("sam", "student")
    cls = a.create_class(admin.actor, "Physics P", [tina.id], True, False)
    assert [t.name for t in store.class_teachers(cls.id)] == ["tina"] and cls.allow_solve_mode
    with pytest.raises(BadInput, match="only teachers and admins"):
        a.create_class(admin.actor, "Other", [sam.id], False, False)
    assert store.class_by_name("Other") is None
    otto = store.create_user("otto", "teacher")
    a.add_teachers(admin.actor, cls.id, [otto.id])
    assert {t.name for t in store.class_teachers(cls.id)} == {"tina", "otto"}
    assert a.enroll(admin.actor, cls.id, [sam.id])[1] == 1
    assert a.enroll(admin.actor, cls.id, [sam.id])[1] == 0
    with pytest.raises(BadInput, match="not a student"):
        a.enroll(admin.actor, cls.id, [tina.id])
    row = a.classes_frame().iloc[0]
    assert (row["class"], row["students"], row["solve mode"]) == ("Physics P", 1, "allowed")
    assert [e.action for e in reversed(store.audit_log())] == ["class.create", "class.teacher", "class.enroll",
                                                               "class.enroll"]
    # people are named by user name in every entry, as the command line's entries name them
    assert [e.details for e in reversed(store.audit_log())][:3] == [
        {"teachers": ["tina"], "allow_solve_mode": True, "allow_hint_skip": False},
        {"teachers": ["otto"]}, {"students": ["sam"], "already_enrolled": []}]


def test_a_roster_creates_and_enrolls_students_and_a_bad_one_changes_nothing(admin, tmp_path):
    a, store = admin.actions, admin.store
    cls = store.create_class("Physics P")
    existing = store.create_user("sam", "student", password=PW)
    store.create_user("tina", "teacher")
    roster = tmp_path / "roster.csv"
    roster.write_text("Username,Display Name,Password\nsam,,\nnia,Nia N,nia-password\nola,Ola O,\n", encoding="utf-8")
    _, results = a.roster(admin.actor, cls.id, str(roster))
    assert [(r.name, r.status) for r in results] == [("sam", "enrolled"), ("nia", "created"), ("ola", "created")]
    ola_pw = results[2].password
    assert results[1].password is None and ola_pw and len(ola_pw) >= 8
    assert store.login("nia", "nia-password").ok and store.login("ola", ola_pw).ok and store.login("sam", PW).ok
    assert {u.name for u in store.class_students(cls.id)} == {"sam", "nia", "ola"}
    assert store.user_by_name("nia").display_name == "Nia N" and existing.role == "student"
    # again: nobody is created twice, the result says who already was there
    _, again = a.roster(admin.actor, cls.id, str(roster))
    assert [r.status for r in again] == ["already enrolled"] * 3
    # any bad row: nothing at all is written
    before = (len(store.list_users()), len(store.class_students(cls.id)), len(store.audit_log()))
    for text, message in [
        ("username\nzed\nbad name!\n", "line 3: 'bad name!' is not a valid user name"),
        ("username,password\nzed,short\n", "shorter than 8"),
        ("username\nzed\nZED\n", "already on line 2"),
        ("username\nzed\ntina\n", "tina is a teacher"),
        # every kind of mistake in one report: the admin fixes the file once, not once per kind
        ("username,password\nbad name!,\ntina,\nzed,short\n",
         "line 2: 'bad name!' is not a valid user name.*line 3: tina is a teacher.*line 4: the password for zed"),
        ("email\nzed@example.org\n", "needs a `username` column"),
        ("", "empty"),
        ("username\n", "no students"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(BadInput, match=message):
            a.roster(admin.actor, cls.id, str(bad))
    (tmp_path / "bin.csv").write_bytes(b"username\n\xff\xfe\x00zed\n")
    with pytest.raises(BadInput, match="not UTF-8"):
        a.roster(admin.actor, cls.id, str(tmp_path / "bin.csv"))
    with pytest.raises(BadInput, match="upload a CSV"):
        a.roster(admin.actor, cls.id, None)
    assert (len(store.list_users()), len(store.class_students(cls.id)), len(store.audit_log())) == before
    assert store.user_by_name("zed") is None


def test_the_class_page_lists_its_members(admin):
    a, store = admin.actions, admin.store
    cls = store.create_class("Physics P", teachers=[store.create_user("tina", "teacher", display_name="Tina T").id])
    store.enroll(cls.id, store.create_user("sam", "student", display_name="Sam S").id)
    store.create_user("sue", "student")   # not in the class
    frame = a.members_frame(cls.id)
    assert frame.values.tolist() == [["teacher", "tina", "Tina T"], ["student", "sam", "Sam S"]]


def test_roster_reads_semicolons_and_a_byte_order_mark():
    entries = parse_roster("\ufeffusername;name\nana;Ana A\nbo;Bo B\n".encode("utf-8"))
    assert [(e.name, e.display_name, e.row) for e in entries] == [("ana", "Ana A", 2), ("bo", "Bo B", 3)]


def test_status_report_names_backend_sandbox_store_and_recent_errors(admin, tmp_path):
    from tutor.settings import load_settings
    store = admin.store
    student = store.create_user("sam", "student")
    sid = store.create_session(student.id, question="1+1").id
    store.append(sid, {"kind": "error", "code": "backend_unavailable", "message": "the model server <b>refused</b>"})
    metrics = Metrics()
    service = SimpleNamespace(backend_or_none=lambda: None,
                              health=lambda: {"live_sessions": 2, "sandbox": {
                                  "ok": True, "self_check": {"ok": True},
                                  "kernels": {"live": 3, "warm": 2, "in_use": 1, "max": 8},
                                  "recent_kills": [{"reason": "timeout", "key": "s1"}]}})
    ctx = SimpleNamespace(settings=load_settings(data_dir=tmp_path, backend="openai", model="deepseek-math-7b"),
                          service=service, store=store, metrics=metrics)
    board = StatusBoard(ctx)
    first = board.report()
    assert first.traffic["tokens_per_s"] is None and first.backend["loaded"] is False
    metrics.tokens.labels(direction="out").inc(500)
    metrics.model_seconds.observe(2.0)
    metrics.turn_seconds.labels(action="ask").observe(3.0)
    metrics.error("sandbox_busy")
    report = board.report()
    assert report.traffic["tokens_per_s"] == 250.0 and report.traffic["mean_turn_latency_s"] == 3.0
    assert report.errors == [("sandbox_busy", 1)]
    md = status_markdown(report)
    for expected in ("openai", "deepseek-math-7b", "**loaded:** no", "live 3, warm 2, in use 1, max 8",
                     "self-check:** passed", "timeout", "**migration:**", store.head_revision(), "sqlite" if
                     store.dialect == "sqlite" else "postgresql", "`sandbox_busy` × 1", "backend_unavailable",
                     f"session #{sid}"):
        assert expected in md, expected
    assert "<b>" not in md and "&lt;b&gt;refused" in md
    assert "none" not in md.split("### Recent errors")[1]          # no "none" above a list of errors


def test_status_names_a_replay_backend_without_the_configured_model(admin, tmp_path):
    from tutor.settings import load_settings
    service = SimpleNamespace(backend_or_none=lambda: SimpleNamespace(name="replay"),
                              health=lambda: {"live_sessions": 0, "sandbox": {"ok": True, "self_check": {"ok": True}}})
    ctx = SimpleNamespace(settings=load_settings(data_dir=tmp_path, backend=f"replay:{tmp_path}/r.jsonl"),
                          service=service, store=admin.store, metrics=Metrics())
    md = status_markdown(StatusBoard(ctx).report())
    assert "**model:** none: the replay backend plays recorded" in md and "deepseek" not in md and "device" not in md
    assert "- none: no session has recorded an error" in md


def _cli(monkeypatch, store, *args, input=None):
    from tutor.cli import main
    monkeypatch.setenv("MATHTUTOR_DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_the_cli_does_what_the_admin_page_does(admin, tmp_path, monkeypatch):
    store = admin.store
    store.create_user("tina", "teacher")
    cls = store.create_class("Physics P")
    roster = tmp_path / "r.csv"
    roster.write_text("username,display_name\nkai,Kai K\n", encoding="utf-8")
    out = _cli(monkeypatch, store, "admin", "roster", "Physics P", str(roster))
    assert out.exit_code == 0 and "kai" in out.output and "created  password:" in out.output
    assert [u.name for u in store.class_students(cls.id)] == ["kai"]
    out = _cli(monkeypatch, store, "class", "set", "Physics P", "--add-teacher", "tina")
    assert out.exit_code == 0 and [t.name for t in store.class_teachers(cls.id)] == ["tina"]
    out = _cli(monkeypatch, store, "class", "set", "Physics P", "--add-teacher", "kai", "--allow-hint-skip")
    assert out.exit_code == 1 and "only teachers and admins" in out.output
    assert not store.get_class(cls.id).allow_hint_skip  # refused as a whole: the switch did not change either
    out = _cli(monkeypatch, store, "class", "set", "Physics P", "--allow-solve-mode")
    assert "allow_solve_mode=True" in out.output and store.get_class(cls.id).allow_solve_mode
    assert not store.get_class(cls.id).allow_hint_skip
    sid = store.create_session(store.user_by_name("kai").id, question="2+2").id
    flag = store.raise_flag(sid, "sandbox_kill", note="timed out", source="system")
    out = _cli(monkeypatch, store, "admin", "flags", "Physics P")
    assert f"#{flag.id}" in out.output and "sandbox_kill" in out.output
    out = _cli(monkeypatch, store, "admin", "resolve-flag", str(flag.id), "--resolution", "restarted kernel")
    assert out.exit_code == 0 and store.get_flag(flag.id).resolution == "restarted kernel"
    out = _cli(monkeypatch, store, "admin", "audit", "--json")
    actions = [line for line in out.output.splitlines() if line.strip()]
    assert any('"class.roster"' in line and '"cli"' in line for line in actions)
    assert any('"flag.resolve"' in line for line in actions)
    # the same entry, in the same form, as the admin page leaves for the same change
    taught = store.audit_log(action="class.teacher")
    assert [(e.actor_name, e.actor_id, e.details) for e in taught] == [("cli", None, {"teachers": ["tina"]})]
    bad = tmp_path / "bad.csv"
    bad.write_text("username\nno good\n", encoding="utf-8")
    out = _cli(monkeypatch, store, "admin", "roster", "Physics P", str(bad))
    assert out.exit_code == 1 and "nothing was changed" in out.output


def test_each_operation_checks_who_acts(admin):
    """The web pages check roles before they call, and the operations check again: a teacher who reaches
    one (a forged event, a page that forgot) changes nothing and leaves no audit entry."""
    from tutor.errors import Forbidden
    from tutor.school import classes, users
    from tutor.school.access import CLI_ACTOR
    from tutor.school.flags import resolve_flag
    from tutor.school.roster import apply_roster

    store = admin.store
    tina = store.create_user("tina", "teacher")
    otto = store.create_user("otto", "teacher")
    sam = store.create_user("sam", "student")
    mine = store.create_class("Mine", teachers=[tina.id])
    other = store.create_class("Other", teachers=[otto.id])
    store.enroll(other.id, sam.id)
    flag = store.raise_flag(store.create_session(sam.id, question="1+1").id, "note", source="system")
    before = len(store.audit_log())
    for attempt in (lambda: users.create_user(store, tina, "eve", "admin", password="password123"),
                    lambda: users.set_role(store, tina, tina.id, "admin"),
                    lambda: users.set_password(store, tina, sam.id, "password123"),
                    lambda: classes.create_class(store, tina, "Mine too"),
                    lambda: classes.add_teachers(store, tina, other.id, [tina.id]),
                    lambda: classes.enroll(store, tina, mine.id, [sam.id]),
                    lambda: apply_roster(store, tina, mine.id, parse_roster("username\nsam\n")),
                    lambda: resolve_flag(store, tina, flag.id, "mine now")):
        with pytest.raises(Forbidden):
            attempt()
    for attempt in (lambda: classes.set_class_settings(store, tina, other.id, allow_solve_mode=True),
                    lambda: classes.export_class(store, tina, other.id, "csv", __import__("io").StringIO()),
                    lambda: resolve_flag(store, tina, flag.id, "mine now", class_id=other.id),
                    lambda: resolve_flag(store, tina, flag.id, "mine now", class_id=mine.id)):
        with pytest.raises(NotFound):
            attempt()
    assert len(store.audit_log()) == before and store.get_user(tina.id).role == "teacher"
    assert not store.get_class(other.id).allow_solve_mode and store.get_flag(flag.id).resolved_at is None
    # the class's own teacher may change its settings; the command line acts as an admin
    assert classes.set_class_settings(store, otto, other.id, allow_hint_skip=True).allow_hint_skip
    assert resolve_flag(store, CLI_ACTOR, flag.id, "seen").resolved_by is None
    assert [(e.actor_name, e.action) for e in store.audit_log()[:2]] == [("cli", "flag.resolve"),
                                                                         ("otto", "class.settings")]
