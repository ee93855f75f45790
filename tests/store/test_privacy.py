"""Privacy: deleting a learner removes their data from every table (checked by reading every row of
every table), leaves other learners untouched; a class export carries sessions, attempts and hints."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from tutor.errors import BadInput, NotFound
from tutor.events import CodeOutput, RoundText
from tutor.store.models import Base


def _learner_with_everything(store, name: str, class_id: int, teacher_id: int) -> tuple[int, int]:
    u = store.create_user(name, "student", password=f"{name} password", display_name=f"{name} Display")
    store.enroll(class_id, u.id)
    s = store.create_session(u.id, question=f"{name}'s own question: solve x+1=3")
    store.append_message(s.id, f"hello from {name}")
    store.append(s.id, RoundText(text=f"thinking about {name}", round=0, tokens_in=3, tokens_out=4))
    store.append(s.id, CodeOutput(code="print(2)", stdout="2", stderr="", error=None, timed_out=False,
                                  restarted=False, duration_s=0.1, observation="2"))
    store.save_solution_key(session_id=s.id, problem_id=s.problem_id, answer="2", verified=True)
    h = store.record_hint(s.id, step=1, level=1, text=f"think, {name}")
    a = store.record_attempt(s.id, kind="answer", input=f"{name} says 3", verdict="incorrect", feedback="no")
    store.update_mastery(u.id, "linear", 0.4, correct=False, cause="hint", params=(0.3, 0.1, 0.2, 0.1),
                         session_id=s.id, hint_id=h.id)
    store.update_mastery(u.id, "linear", 0.5, correct=False, cause="attempt", params=(0.3, 0.1, 0.2, 0.1),
                         session_id=s.id, attempt_id=a.id)
    store.raise_flag(s.id, "note", note=f"watch {name}", raised_by=teacher_id)
    store.audit("class.enroll", actor_id=teacher_id, target_type="user", target_id=u.id, target_label=name,
                details={"students": [name]})
    store.audit("user.passwd", actor_id=u.id)
    store.login(name, "wrong password!")
    return u.id, s.id


def _dump(store) -> dict[str, list[dict]]:
    with store.engine.connect() as conn:
        return {name: [dict(r._mapping) for r in conn.execute(select(table))]
                for name, table in Base.metadata.tables.items()}


def test_delete_learner_removes_their_data_everywhere(store):
    t = store.create_user("teacher1", "teacher")
    c = store.create_class("Privacy class", teachers=[t.id])
    victim, victim_session = _learner_with_everything(store, "zelda", c.id, t.id)
    keep, keep_session = _learner_with_everything(store, "yusuf", c.id, t.id)
    before = _dump(store)

    report = store.delete_learner("zelda", actor_id=t.id)
    assert report.rows["tutor_sessions"] == 1 and report.rows["events"] >= 4 and report.rows["mastery_history"] == 2

    after = _dump(store)
    for table, rows in after.items():
        text = json.dumps(rows, default=str)
        assert "zelda" not in text, f"{table} still mentions the learner"
        for row in rows:
            for column in ("user_id", "created_by", "actor_id", "raised_by", "resolved_by", "reference_set_by"):
                assert row.get(column) != victim, (table, column, row)
            assert row.get("session_id") != victim_session, (table, row)
    # the other learner's data is all still there
    for table in ("tutor_sessions", "events", "code_cells", "hints", "attempts", "mastery", "mastery_history",
                  "flags", "solution_keys"):
        assert len(after[table]) == len(before[table]) // 2, table
    assert store.transcript(keep_session).learner.name == "yusuf"
    assert [u.name for u in store.class_students(c.id)] == ["yusuf"]
    with pytest.raises(NotFound):
        store.get_user(victim)
    assert store.audit_log(action="learner.delete")[0].target_label == "[deleted]"
    with pytest.raises(BadInput):
        store.delete_learner("teacher1")  # teachers are not deleted as learners
    with pytest.raises(NotFound):
        store.delete_learner("nobody")


def test_export_csv_and_jsonl(store):
    t = store.create_user("t", "teacher")
    c = store.create_class("Export class", teachers=[t.id])
    other = store.create_class("Other class", teachers=[t.id])
    u = store.create_user("ann", "student")
    outsider = store.create_user("out", "student")
    store.enroll(c.id, u.id)
    store.enroll(other.id, outsider.id)
    s = store.create_session(u.id, question="Solve x+1=3, answer in 'x = ...' form")
    store.record_hint(s.id, step=1, level=1, text="What undoes +1?")
    store.record_attempt(s.id, kind="answer", input="=HYPERLINK(\"http://evil\")", verdict="unreadable", feedback="?")
    store.record_attempt(s.id, kind="answer", input="-3", verdict="incorrect", feedback="Check the sign.")
    store.record_attempt(s.id, kind="step", input="x = 3 - 1", verdict="valid", step=1)
    store.finish_session(s.id, solved=True)
    store.create_session(outsider.id, question="not in this class")

    buf = io.StringIO()
    assert store.export_class(c.id, "csv", buf) == 5
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [r["record"] for r in rows] == ["session", "hint", "attempt", "attempt", "attempt"]
    assert {r["learner"] for r in rows} == {"ann"}
    assert rows[0]["solved"] == "True" and rows[0]["problem"].startswith("Solve x+1=3")
    assert rows[1]["text"] == "What undoes +1?" and rows[1]["level"] == "1"
    assert rows[2]["input"].startswith("'=HYPERLINK")  # no formula runs when a teacher opens the file
    assert rows[3]["input"] == "-3" and rows[3]["feedback"] == "Check the sign."

    buf = io.StringIO()
    store.export_class(c.id, "jsonl", buf)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [x["record"] for x in lines] == ["session", "hint", "attempt", "attempt", "attempt"]
    assert lines[2]["input"] == "=HYPERLINK(\"http://evil\")"  # JSONL keeps the input exactly as typed
    assert lines[4]["kind"] == "step" and lines[4]["verdict"] == "valid"
    with pytest.raises(BadInput):
        store.export_class(c.id, "xlsx", io.StringIO())
    with pytest.raises(NotFound):
        store.export_rows(9999)
