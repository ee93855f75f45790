"""Teacher actions on the store (SQLite and PostgreSQL): who may see what, assigning problems typed or
from dataset files (reading nothing outside the dataset folders), class settings, flags, and the
audit entries each change leaves."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from app import teacher_data as data
from app.teacher_actions import TeacherActions
from tests.fixtures.pages import DATA_DIR
from tutor.errors import BadInput, NotFound
from tutor.settings import load_settings


@pytest.fixture
def world(store, tmp_path):
    t = store.create_user("tess", "teacher")
    o = store.create_user("otto", "teacher")
    a = store.create_user("adam", "admin")
    s = store.create_user("sam", "student", display_name="Sam Student")
    u = store.create_user("sue", "student")
    ca = store.create_class("Algebra A", teachers=[t.id])
    cb = store.create_class("Geometry B", teachers=[o.id])
    store.enroll(ca.id, s.id)
    store.enroll(cb.id, u.id)
    sid = store.create_session(s.id, question="Solve 2x = 4").id
    settings = load_settings(data_dir=tmp_path, teacher_dataset_dirs=(DATA_DIR,))
    ctx = SimpleNamespace(store=store, settings=settings)
    return SimpleNamespace(store=store, t=t, o=o, a=a, s=s, u=u, ca=ca, cb=cb, sid=sid, actions=TeacherActions(ctx),
                           settings=settings)


def test_a_teacher_sees_only_their_classes_and_their_students_sessions(world):
    w, store = world, world.store
    assert [c.name for c in data.classes_for(store, w.t)] == ["Algebra A"]
    assert [c.name for c in data.classes_for(store, w.a)] == ["Algebra A", "Geometry B"]
    assert data.classes_for(store, w.s) == []
    assert data.require_class(store, w.t, w.ca.id).id == w.ca.id
    assert data.require_session(store, w.t, w.ca.id, w.sid).id == w.sid
    assert data.require_session(store, w.a, w.ca.id, w.sid).id == w.sid
    refused = []
    for user, cid, sid in [(w.o, w.ca.id, w.sid), (w.o, w.cb.id, w.sid), (w.s, w.ca.id, w.sid),
                           (w.t, w.ca.id, 99999), (w.t, 99999, w.sid), (w.t, "abc", w.sid)]:
        with pytest.raises(NotFound) as exc:
            data.require_session(store, user, cid, sid)
        refused.append(exc.value.message)
    # "not yours" and "does not exist" read the same
    assert set(refused) <= {"no such class", "no such session", "choose a class first"}
    flag = store.raise_flag(w.sid, "sandbox_kill", source="system")
    assert data.require_flag(store, w.t, w.ca.id, flag.id).id == flag.id
    row = data.flags_frame(store, w.ca.id).iloc[0]
    assert (row["flag"], row["session"], row["student"], row["source"], row["status"]) == (
        flag.id, w.sid, "Sam Student", "system", "open")
    assert data.flags_frame(store, w.cb.id).empty
    with pytest.raises(NotFound):
        data.require_flag(store, w.o, w.cb.id, flag.id)


def test_assign_a_typed_problem_with_reference_and_skills(world):
    w, store = world, world.store
    msg = w.actions.assign_typed(w.t, w.ca.id, "Solve $3x = 12$.", "4", "Algebra, number theory", "")
    assert "with a reference answer" in msg
    [assignment] = store.class_assignments(w.ca.id)
    problem = store.get_problem(assignment.problem_id)
    assert (problem.text, problem.reference_answer, problem.reference_set_by) == ("Solve $3x = 12$.", "4", w.t.id)
    assert problem.skills == ["algebra", "number_theory"]
    assert [p.id for p in store.assigned_problems(w.s.id)] == [problem.id]
    assert store.assigned_problems(w.u.id) == []
    [entry] = store.audit_log(action="class.assign")
    assert entry.actor_name == "tess" and entry.details["problem_ids"] == [problem.id]
    with pytest.raises(BadInput, match="type the problem"):
        w.actions.assign_typed(w.t, w.ca.id, "   ", "", "", "")
    with pytest.raises(BadInput):
        w.actions.assign_typed(w.t, w.ca.id, "Find x.", "", "astrology", "")
    with pytest.raises(NotFound):
        w.actions.assign_typed(w.o, w.ca.id, "Find x.", "", "", "")
    assert len(store.class_assignments(w.ca.id)) == 1   # nothing half-made by the refused ones


def test_assign_rows_of_dataset_files_with_their_answers(world):
    w, store = world, world.store
    msg = w.actions.assign_dataset(w.t, w.ca.id, f"{DATA_DIR}/gsm8k_test.jsonl", "1-2, 5", True, "")
    assert "3 problems" in msg
    [assignment] = store.class_assignments(w.ca.id)
    problems = store.problems_in_set(assignment.problem_set_id)
    assert [p.reference_answer for p in problems][:2] == ["18", "3"]
    assert problems[0].text.startswith("Janet") and [p.source_ref for p in problems] == [
        "gsm8k_test.jsonl:1", "gsm8k_test.jsonl:2", "gsm8k_test.jsonl:5"]
    assert problems[0].reference_solution.endswith("#### 18")    # GSM8K's worked solution: the key's steps
    w.actions.assign_dataset(w.t, w.ca.id, "math500_test.jsonl", "1", True, "")   # relative to the first folder
    w.actions.assign_dataset(w.t, w.ca.id, f"{DATA_DIR}/math_test.jsonl", "1", True, "")
    single = [store.get_problem(a.problem_id) for a in store.class_assignments(w.ca.id) if a.problem_id]
    assert [p.reference_answer for p in single] == ["\\left( 3, \\frac{\\pi}{2} \\right)", "2"]
    assert [p.skills for p in single] == [["precalculus"], ["algebra"]]
    w.actions.assign_dataset(w.t, w.ca.id, f"{DATA_DIR}/gsm8k_test.jsonl", "3", False, "")
    assert store.get_problem(store.class_assignments(w.ca.id)[-1].problem_id).reference_answer is None
    assert store.get_problem(store.class_assignments(w.ca.id)[-1].problem_id).reference_solution is None


@pytest.mark.parametrize("path, rows, message", [
    ("/etc/passwd", "1", "only files inside the dataset folders"),
    (f"{DATA_DIR}/../../../etc/passwd", "1", "only files inside the dataset folders"),
    ("../../etc/hostname", "1", "only files inside the dataset folders"),
    (f"{DATA_DIR}/LICENSE-math-evaluation-harness", "1", "no .jsonl dataset file"),
    (f"{DATA_DIR}/math500_test.jsonl", "501", "has no row 501"),
    (f"{DATA_DIR}/math500_test.jsonl", "0", "rows count from 1"),
    (f"{DATA_DIR}/math500_test.jsonl", "1-x", "cannot read the row range"),
    (f"{DATA_DIR}/math500_test.jsonl", "1-500", "at most 200 problems"),
    ("", "1", "choose a dataset file"),
])
def test_bad_dataset_picks_are_refused_clearly_and_change_nothing(world, path, rows, message):
    with pytest.raises(BadInput, match=message):
        world.actions.assign_dataset(world.t, world.ca.id, path, rows, True, "")
    assert world.store.class_assignments(world.ca.id) == []
    assert world.store.audit_log(action="class.assign") == []


def test_a_symlink_out_of_the_dataset_folder_is_refused(world, tmp_path):
    folder = tmp_path / "sets"
    folder.mkdir()
    (folder / "escape.jsonl").symlink_to("/etc/hostname")
    (folder / "ok.jsonl").write_text('{"question": "What is 2+2?", "answer": "#### 4"}\n')
    settings = load_settings(data_dir=tmp_path, teacher_dataset_dirs=(str(folder),))
    actions = TeacherActions(SimpleNamespace(store=world.store, settings=settings))
    assert actions.datasets() == ["escape.jsonl", "ok.jsonl"]       # names, not where the server keeps them
    with pytest.raises(BadInput, match="only files inside"):
        actions.assign_dataset(world.t, world.ca.id, str(folder / "escape.jsonl"), "1", True, "")
    assert "Assigned problem #" in actions.assign_dataset(world.t, world.ca.id, "ok.jsonl", "1", True, "")
    assert Path(settings.data_dir).exists()


def test_settings_flags_and_resolutions_are_saved_and_audited(world):
    w, store = world, world.store
    cls = w.actions.save_settings(w.t, w.ca.id, True, False)
    assert (cls.allow_solve_mode, cls.allow_hint_skip) == (True, False)
    assert store.class_policy(w.s.id).allow_solve_mode and not store.class_policy(w.u.id).allow_solve_mode
    with pytest.raises(NotFound):
        w.actions.save_settings(w.o, w.ca.id, False, True)
    session = store.get_session(w.sid)
    flag = w.actions.flag(w.t, w.ca.id, session, "  check the second step ")
    assert (flag.source, flag.reason, flag.note, flag.raised_by) == ("teacher", "teacher_flag", "check the second step", w.t.id)
    with pytest.raises(BadInput, match="at most 2000"):
        w.actions.flag(w.t, w.ca.id, session, "x" * 2001)
    with pytest.raises(BadInput, match="choose an open flag"):
        w.actions.resolve(w.t, w.ca.id, None, "")
    with pytest.raises(NotFound):
        w.actions.resolve(w.o, w.cb.id, flag.id, "not mine")
    done = w.actions.resolve(w.t, w.ca.id, flag.id, "talked to Sam")
    assert done.resolution == "talked to Sam" and done.resolved_by == w.t.id
    with pytest.raises(BadInput, match="already resolved"):
        w.actions.resolve(w.t, w.ca.id, flag.id, "again")
    actions = [(e.actor_name, e.action) for e in reversed(store.audit_log())]
    assert actions == [("tess", "class.settings"), ("tess", "flag.raise"), ("tess", "flag.resolve")]


def test_overview_tables_and_chart_frames(world):
    w, store = world, world.store
    store.update_mastery(w.s.id, "algebra", 0.8, correct=True, cause="attempt", params=(0.2, 0.15, 0.2, 0.1))
    store.update_mastery(w.s.id, "geometry", 0.3, correct=False, cause="attempt", params=(0.2, 0.15, 0.2, 0.1))
    store.record_attempt(w.sid, kind="answer", input="x = 3", verdict="incorrect")
    store.record_attempt(w.sid, kind="answer", input="x=3 ", verdict="incorrect")
    store.record_attempt(w.sid, kind="answer", input="2", verdict="correct")
    summary = store.class_summary(w.ca.id)
    roster = data.roster_frame(summary)
    assert list(roster.columns) == data.ROSTER_COLUMNS and roster.iloc[0]["student"] == "Sam Student"
    chart = data.mastery_frame(summary)
    assert chart[["skill", "mastery"]].values.tolist() == [["algebra", 0.8], ["geometry", 0.3]]
    assert chart["bar"].is_unique
    struggles = data.struggles_frame(store.class_problem_stats(w.ca.id))
    row = struggles.iloc[0]
    assert row["answer attempts"] == 3 and row["wrong %"] == pytest.approx(66.7)
    assert row["most common wrong answers"] == "x = 3 (×1); x=3 (×1)"
    pairs = data.class_sessions(store, w.ca.id)
    assert [(u.name, s.id) for u, s in pairs] == [("sam", w.sid)]
    assert data.sessions_frame(pairs).iloc[0]["student"] == "Sam Student"


def test_an_existing_problem_set_is_assigned_once_per_class(world):
    w, store = world, world.store
    w.actions.assign_dataset(w.o, w.cb.id, f"{DATA_DIR}/gsm8k_test.jsonl", "1-3", True, "Warm-up")
    [ps] = store.list_problem_sets()
    assert w.actions.problem_set_choices() == [("Warm-up (3 problems)", ps.id)]
    assert "Warm-up" in w.actions.assign_set(w.t, w.ca.id, ps.id)
    assert [p.reference_answer for p in store.assigned_problems(w.s.id)] == ["18", "3", "70000"]
    with pytest.raises(BadInput, match="already assigned"):
        w.actions.assign_set(w.t, w.ca.id, ps.id)
    with pytest.raises(BadInput, match="choose a problem set"):
        w.actions.assign_set(w.t, w.ca.id, None)
    with pytest.raises(NotFound):
        w.actions.assign_set(w.o, w.ca.id, ps.id)
    assert len(store.class_assignments(w.ca.id)) == 1


def test_with_several_dataset_folders_files_are_named_by_folder(world, tmp_path):
    for name, question in (("gsm", "What is 2+2?"), ("extra", "What is 3+3?")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "set.jsonl").write_text(f'{{"question": "{question}", "answer": "#### 4"}}\n')
    settings = load_settings(data_dir=tmp_path, teacher_dataset_dirs=(str(tmp_path / "gsm"), str(tmp_path / "extra")))
    actions = TeacherActions(SimpleNamespace(store=world.store, settings=settings))
    assert actions.datasets() == ["gsm/set.jsonl", "extra/set.jsonl"]
    assert [p.text for p in actions.dataset_problems("extra/set.jsonl", "1")] == ["What is 3+3?"]
    assert [p.text for p in actions.dataset_problems("gsm/set.jsonl", "1")] == ["What is 2+2?"]
