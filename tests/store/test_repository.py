"""The repository API on SQLite and PostgreSQL: users, classes, problems, sessions, events, keys,
hints, attempts, mastery, flags, audit, transcript and class summaries."""

from __future__ import annotations

import pytest

from tutor.errors import BadInput, NotFound
from tutor.events import CodeOutput, FinalAnswer, RoundText, TextDelta
from tutor.events import AttemptChecked, HintGiven
from tutor.store import AlreadyExists


def test_users_passwords_and_roles(store):
    alice = store.create_user("alice", "student", password="correct horse", display_name="Alice A.")
    assert alice.role == "student" and alice.display_name == "Alice A." and alice.has_password
    with pytest.raises(AlreadyExists):
        store.create_user("Alice", "teacher", password="another pass")
    with pytest.raises(BadInput):
        store.create_user("bob", "wizard")
    with pytest.raises(BadInput):
        store.create_user("bad name!", "student")
    with pytest.raises(BadInput):
        store.create_user("shorty", "student", password="short")
    assert store.verify_password("alice", "correct horse").id == alice.id
    assert store.verify_password("alice", "wrong password") is None
    assert store.verify_password("nobody", "correct horse") is None
    store.set_password(alice.id, "new password 1")
    assert store.verify_password("alice", "correct horse") is None
    assert store.verify_password("alice", "new password 1") is not None
    store.set_role(alice.id, "teacher")
    store.set_active(alice.id, False)
    assert store.verify_password("alice", "new password 1") is None  # inactive
    assert [u.name for u in store.list_users(role="teacher")] == ["alice"]
    with pytest.raises(NotFound):
        store.get_user(9999)
    # the hash is argon2id and is not exposed on the record
    assert not hasattr(alice, "password_hash")


def test_login_throttling_locks_then_resets(store):
    u = store.create_user("carol", "student", password="right password")
    for _ in range(2):
        assert store.login("carol", "nope nope", max_failures=3).reason == "bad_credentials"
    assert store.get_user(u.id).failed_logins == 2
    locked = store.login("carol", "nope nope", max_failures=3, lockout_s=60)
    assert locked.reason == "locked" and locked.locked_until is not None
    # locked: even the right password is refused until the lock expires
    assert store.login("carol", "right password", max_failures=3).reason == "locked"
    store.set_password(u.id, "right password")  # an admin reset clears the lock
    ok = store.login("carol", "right password")
    assert ok.ok and ok.user.last_seen_at is not None and ok.user.failed_logins == 0
    assert store.login("nobody", "whatever pw").reason == "bad_credentials"
    store.set_active(u.id, False)
    assert store.login("carol", "right password").reason == "inactive"


def test_classes_enrolment_and_policy(store):
    t = store.create_user("teach", "teacher")
    t2 = store.create_user("other", "teacher")
    s1 = store.create_user("s1", "student")
    s2 = store.create_user("s2", "student")
    c = store.create_class("Algebra 1", teachers=[t.id])
    assert not c.allow_solve_mode and not c.allow_hint_skip  # defaults: off
    with pytest.raises(AlreadyExists):
        store.create_class("algebra 1")
    assert store.enroll(c.id, s1.id) is True
    assert store.enroll(c.id, s1.id) is False
    with pytest.raises(BadInput):
        store.enroll(c.id, t2.id)  # a teacher is not enrolled as a student
    with pytest.raises(BadInput):
        store.add_teacher(c.id, s2.id)
    assert [u.name for u in store.class_students(c.id)] == ["s1"]
    assert [u.name for u in store.class_teachers(c.id)] == ["teach"]
    assert store.is_teacher_of(t.id, s1.id) and not store.is_teacher_of(t2.id, s1.id)
    assert not store.is_teacher_of(t.id, s2.id)
    assert store.class_policy(s1.id).allow_solve_mode is False
    store.set_class_settings(c.id, allow_solve_mode=True)
    assert store.class_policy(s1.id).allow_solve_mode is True
    assert store.class_policy(s2.id).allow_solve_mode is False
    assert [x.name for x in store.list_classes(teacher_id=t.id)] == ["Algebra 1"]
    assert store.list_classes(teacher_id=t2.id) == []
    assert [x.name for x in store.list_classes(student_id=s1.id)] == ["Algebra 1"]


def test_problems_sets_and_assignments(store):
    t = store.create_user("teach", "teacher")
    s = store.create_user("stu", "student")
    c = store.create_class("Geometry", teachers=[t.id])
    store.enroll(c.id, s.id)
    ps = store.create_problem_set("Week 1", created_by=t.id)
    p1 = store.create_problem("Solve 2x+3=7", reference_answer="2", reference_set_by=t.id, skills=["linear equations"],
                              problem_set_id=ps.id, created_by=t.id)
    p2 = store.create_problem("Factor x^2-1", problem_set_id=ps.id, created_by=t.id)
    lone = store.create_problem("What is 7*8?", source="dataset", source_ref="gsm8k_test.jsonl:3")
    assert (p1.position, p2.position) == (1, 2)
    assert p1.reference_answer == "2" and p1.reference_set_by == t.id and p1.skills == ["linear equations"]
    assert store.assigned_problems(s.id) == []
    store.assign(c.id, problem_set_id=ps.id, assigned_by=t.id)
    store.assign(c.id, problem_id=lone.id, assigned_by=t.id)
    assert [p.id for p in store.assigned_problems(s.id)] == [p1.id, p2.id, lone.id]
    with pytest.raises(BadInput):
        store.assign(c.id)
    with pytest.raises(BadInput):
        store.create_problem("   ")


def test_session_events_are_recorded_in_order_with_typed_rows(store):
    s = store.create_user("stu", "student")
    sess = store.create_session(s.id, question="Solve $x^2 = 4$", mode="tutor")
    assert sess.status == "active" and sess.title.startswith("Solve")
    assert store.get_problem(sess.problem_id).source == "student"
    store.append_message(sess.id, "Solve $x^2 = 4$")
    assert store.append(sess.id, TextDelta(text="partial")) is None  # per-token text is not stored
    store.append(sess.id, RoundText(text="Let's compute.\n```python\nprint(2+2)\n```", round=0, tokens_in=50,
                                    tokens_out=20, seconds=0.5))
    store.append(sess.id, CodeOutput(code="print(2+2)", stdout="4\n", stderr="", error=None, timed_out=False,
                                     restarted=False, duration_s=0.02, observation="4", round=0))
    store.append(sess.id, CodeOutput(code="1/0", stdout="", stderr="", timed_out=False, restarted=False, duration_s=0.01,
                                     error={"type": "ZeroDivisionError", "message": "division by zero", "traceback": "tb"},
                                     observation="Runtime errors: division by zero", round=1))
    store.append(sess.id, HintGiven(step=1, level=2, text="What do you do to both sides?", steps=2, guard="regenerated"))
    store.append(sess.id, AttemptChecked(attempt_kind="step", verdict="valid", feedback="Good.", input="x = \\pm 2",
                                         step=1))
    store.append(sess.id, FinalAnswer(answer="\\pm 2"))
    store.append(sess.id, {"kind": "some_future_kind", "payload": [1, 2, 3]})
    events = store.events(sess.id)
    assert [e.kind for e in events] == ["message", "round_text", "output", "output", "hint", "attempt", "answer",
                                        "some_future_kind"]
    assert [e.seq for e in events] == list(range(1, 9))
    assert events[1].tokens_in == 50 and events[1].tokens_out == 20 and events[1].seconds == 0.5
    assert events[7].data["payload"] == [1, 2, 3]
    cells = store.code_cells(sess.id)
    assert [c.stdout for c in cells] == ["4\n", ""]
    assert cells[1].error_type == "ZeroDivisionError" and cells[1].observation.startswith("Runtime errors")
    (hint,) = store.hints(sess.id)
    assert (hint.step, hint.level, hint.guard) == (1, 2, "regenerated")
    (attempt,) = store.attempts(sess.id)
    assert (attempt.kind, attempt.verdict, attempt.input) == ("step", "valid", "x = \\pm 2")
    now = store.get_session(sess.id)
    assert (now.current_step, now.hint_level, now.event_count) == (1, 2, 8)
    with pytest.raises(NotFound):
        store.append(424242, FinalAnswer(answer="1"))
    with pytest.raises(BadInput):
        store.append(sess.id, {"no": "kind"})


def test_sessions_listing_ownership_progress_and_finish(store):
    a = store.create_user("a", "student")
    b = store.create_user("b", "student")
    p = store.create_problem("1+1?")
    first = store.create_session(a.id, problem_id=p.id)
    second = store.create_session(a.id, question="2+2?", mode="solve")
    assert [x.id for x in store.list_sessions(a.id)] == [second.id, first.id]
    assert store.list_sessions(b.id) == []
    with pytest.raises(NotFound):
        store.session_for(b.id, first.id)  # another learner's session looks like no session
    assert store.session_for(a.id, first.id).id == first.id
    store.set_progress(first.id, hint_level=3)
    moved = store.set_progress(first.id, current_step=2)
    assert (moved.current_step, moved.hint_level) == (2, 0)
    done = store.finish_session(first.id, solved=True, final_answer="2")
    assert done.status == "finished" and done.ended_at is not None and done.solved
    with pytest.raises(BadInput):
        store.create_session(a.id, mode="cheat", problem_id=p.id)
    with pytest.raises(BadInput):
        store.create_session(a.id)


def test_solution_key_hints_attempts_mastery_flags_audit(store):
    t = store.create_user("t", "teacher")
    s = store.create_user("s", "student")
    sess = store.create_session(s.id, question="x+1=3")
    assert store.solution_key(session_id=sess.id) is None
    key = store.save_solution_key(session_id=sess.id, problem_id=sess.problem_id, answer="2",
                                  steps=[{"text": "subtract 1", "result": "x = 2"}], verified=True,
                                  verification="print(2+1==3) -> True", model="deepseek", model_answer="2")
    assert store.solution_key(session_id=sess.id).steps == [{"text": "subtract 1", "result": "x = 2"}]
    assert store.solution_key(problem_id=sess.problem_id).id == key.id
    hint = store.record_hint(sess.id, step=1, level=1, text="What undoes +1?")
    attempt = store.record_attempt(sess.id, kind="answer", input="3", verdict="incorrect", feedback="Check again.")
    m1 = store.update_mastery(s.id, "linear equations", 0.2, correct=False, cause="hint",
                              params=(0.3, 0.1, 0.2, 0.1), session_id=sess.id, hint_id=hint.id)
    m2 = store.update_mastery(s.id, "linear equations", 0.5, correct=True, cause="attempt",
                              params=(0.3, 0.1, 0.2, 0.1), session_id=sess.id, attempt_id=attempt.id)
    assert m1.id == m2.id and m2.p_known == 0.5 and m2.observations == 2
    history = store.mastery_history(s.id)
    assert [(h.p_before, h.p_after, h.cause) for h in history] == [(0.3, 0.2, "hint"), (0.2, 0.5, "attempt")]
    with pytest.raises(BadInput):
        store.update_mastery(s.id, "x", 1.5, correct=True, cause="attempt", params=(0.3, 0.1, 0.2, 0.1))
    flag = store.raise_flag(sess.id, "note", note="Look at step 2", raised_by=t.id)
    store.raise_flag(sess.id, "key_disagreement", source="system")
    assert [f.reason for f in store.flags(session_id=sess.id, open_only=True)] == ["note", "key_disagreement"]
    store.resolve_flag(flag.id, resolved_by=t.id, resolution="discussed")
    assert [f.reason for f in store.flags(session_id=sess.id, open_only=True)] == ["key_disagreement"]
    store.audit("flag.resolve", actor_id=t.id, target_type="flag", target_id=flag.id)
    (entry,) = store.audit_log()
    assert entry.actor_name == "t" and entry.action == "flag.resolve"
    tr = store.transcript(sess.id)
    assert tr.key.verified and [e.kind for e in tr.events] == ["hint", "attempt"]
    assert len(tr.flags) == 2 and tr.learner.name == "s"
    assert store.transcript(sess.id, include_private=False).key is None


def test_private_events_hidden_from_student_view(store):
    s = store.create_user("s", "student")
    sess = store.create_session(s.id, question="2+2")
    store.append(sess.id, RoundText(text="secret work, answer 4", round=0), private=True)
    store.append(sess.id, CodeOutput(code="print(4)", stdout="4", stderr="", error=None, timed_out=False,
                                     restarted=False, duration_s=0.0, observation="4"), private=True)
    store.append_message(sess.id, "hello")
    assert [e.kind for e in store.events(sess.id, include_private=False)] == ["message"]
    assert len(store.events(sess.id)) == 3
    view = store.transcript(sess.id, include_private=False)
    assert view.code_cells == [] and all("secret" not in (e.text or "") for e in view.events)


def test_class_summary_rows(store):
    t = store.create_user("t", "teacher")
    s1 = store.create_user("ann", "student")
    s2 = store.create_user("ben", "student")
    c = store.create_class("C", teachers=[t.id])
    store.enroll(c.id, s1.id)
    store.enroll(c.id, s2.id)
    p = store.create_problem("x+1=3", reference_answer="2")
    a = store.create_session(s1.id, problem_id=p.id)
    store.record_hint(a.id, step=1, level=1, text="h1")
    store.record_hint(a.id, step=1, level=2, text="h2")
    store.record_attempt(a.id, kind="answer", input="3", verdict="incorrect")
    store.record_attempt(a.id, kind="answer", input="2", verdict="correct")
    store.finish_session(a.id, solved=True)
    b = store.create_session(s2.id, problem_id=p.id)
    store.record_attempt(b.id, kind="answer", input="2", verdict="correct")
    store.record_hint(b.id, step=1, level=4, text="bottom out")
    store.update_mastery(s2.id, "algebra", 0.7, correct=True, cause="attempt", params=(0.3, 0.1, 0.2, 0.1))
    rows = {r.name: r for r in store.class_summary(c.id)}
    assert rows["ann"].sessions == 1 and rows["ann"].solved == 1 and rows["ann"].finished == 1
    assert rows["ann"].first_try_correct_rate == 0.0 and rows["ann"].hints == 2 and rows["ann"].hints_per_step == 2.0
    assert rows["ann"].bottom_out_rate == 0.0
    assert rows["ben"].first_try_correct_rate == 1.0 and rows["ben"].bottom_out_rate == 1.0
    assert rows["ben"].mastery == {"algebra": 0.7}
    (stats,) = store.class_problem_stats(c.id)
    assert stats.sessions == 2 and stats.wrong_attempts == 1 and stats.common_wrong == [("3", 1)]


def test_class_sessions_and_recent_errors(store):
    from tutor.events import ErrorEvent
    t = store.create_user("t", "teacher")
    a = store.create_user("a", "student")
    b = store.create_user("b", "student")
    c = store.create_class("K", teachers=[t.id])
    store.enroll(c.id, a.id)
    s1 = store.create_session(a.id, question="1")
    s2 = store.create_session(a.id, question="2")
    sb = store.create_session(b.id, question="not in class")
    assert [x.id for x in store.class_sessions(c.id)] == [s2.id, s1.id]
    store.append(s1.id, ErrorEvent(code="sandbox_busy", message="All kernels are busy"))
    store.append(sb.id, ErrorEvent(code="backend_unavailable", message="Model server down"))
    store.append(s2.id, FinalAnswer(answer="2"))
    errors = store.recent_events(kind="error")
    assert [(e.session_id, e.data["code"], e.text) for e in errors] == [
        (sb.id, "backend_unavailable", "Model server down"), (s1.id, "sandbox_busy", "All kernels are busy")]


def test_nul_and_lone_surrogates_are_stored_not_refused(store):
    """PostgreSQL refuses NUL in text and UTF-8 cannot hold a lone surrogate: a kernel printing bytes or
    a pasted question must not lose the event."""
    u = store.create_user("n", "student")
    s = store.create_session(u.id, question="odd \x00 question \ud800")
    assert store.get_problem(s.problem_id).text == "odd \ufffd question \ufffd"
    store.append(s.id, CodeOutput(code="print(b'\\0')", stdout="a\x00b", stderr="", error=None, timed_out=False,
                                  restarted=False, duration_s=0.0, observation="a\x00b"))
    store.append_message(s.id, "hi \udc80")
    store.record_attempt(s.id, kind="answer", input="2\x00", verdict="incorrect")
    (cell,) = store.code_cells(s.id)
    assert cell.stdout == "a\ufffdb"
    events = store.events(s.id)
    assert events[0].data["stdout"] == "a\ufffdb" and events[1].text == "hi \ufffd"
    assert store.attempts(s.id)[0].input == "2\ufffd"


def test_out_of_range_ids_and_overlong_values_are_clear_errors(store):
    u = store.create_user("r", "student")
    for bad in (2**40, 2**70):
        with pytest.raises(NotFound):
            store.session_for(u.id, bad)  # a guessed id never turns into a server error
        with pytest.raises((NotFound, BadInput)):
            store.get_session(bad)
    with pytest.raises(NotFound):
        store.session_for(u.id, -1)
    with pytest.raises(BadInput):
        store.create_problem("fine", source_ref="x" * 300)


def test_non_finite_numbers_in_an_event_do_not_lose_it(store):
    u = store.create_user("f", "student")
    s = store.create_session(u.id, question="q")
    store.append(s.id, RoundText(text="t", round=0, seconds=float("nan")))
    store.append(s.id, {"kind": "metrics", "ratio": float("inf"), "ok": 1.5})
    first, second = store.events(s.id)
    assert first.seconds is None and first.data["seconds"] is None
    assert second.data == {"kind": "metrics", "ratio": None, "ok": 1.5}


def test_one_open_system_flag_per_session_and_kind(store):
    s = store.create_user("s", "student")
    t = store.create_user("t", "teacher")
    sess = store.create_session(s.id, question="2+2")
    other = store.create_session(s.id, question="3+3")
    first = store.raise_flag(sess.id, "hint_replaced", source="system", note="hint 1")
    again = [store.raise_flag(sess.id, "hint_replaced", source="system", note=f"hint {i}") for i in range(2, 10)]
    assert {f.id for f in again} == {first.id}                       # nine replacements, one open flag
    store.raise_flag(sess.id, "key_unverified", source="system")       # another kind is its own flag
    store.raise_flag(other.id, "hint_replaced", source="system")       # and so is another session
    store.raise_flag(sess.id, "note", note="one", raised_by=t.id)      # teachers' flags are never merged
    store.raise_flag(sess.id, "note", note="two", raised_by=t.id)
    assert [f.reason for f in store.flags(session_id=sess.id, open_only=True)] == [
        "hint_replaced", "key_unverified", "note", "note"]
    store.resolve_flag(first.id, resolved_by=t.id, resolution="looked")
    reopened = store.raise_flag(sess.id, "hint_replaced", source="system")   # after resolving: a new one
    assert reopened.id != first.id and reopened.resolved_at is None
