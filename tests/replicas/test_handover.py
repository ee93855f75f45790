"""Sessions handed between replicas, in one process: two TutorService instances on one store stand for
two app replicas (each has its own kernels). A replayed cell that prints something else now is told to
the student and flagged; two replicas' actions on one session are serialised through PostgreSQL; a
claim that finds another process's unfinished action marks the session interrupted."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from tutor.events import ErrorEvent
from tutor.settings import load_settings
from tutor.solver.backends import ScriptedBackend
from tutor.store.models import TutorSession
from tutor.tutoring.service import TutorService

CODE = {"Roll": "import random\nr = random.random()\nprint(r)", "double": "print(r * 2)",
        "slow": "s = 5\nprint(s)", "after": "print(s + 1)"}


def solver(gate: threading.Event | None = None, entered: threading.Event | None = None):
    """Solve mode as the model plays it: a program for the latest message, then a boxed answer."""
    def reply(prompt: str) -> str:
        latest = prompt.rsplit("User:", 1)[-1].split("\n\nAssistant:", 1)[0]
        if "```output" in prompt.rsplit("Assistant:", 1)[-1]:
            return "So the answer is $\\boxed{1}$."
        if "slow" in latest and gate is not None:
            entered.set()
            gate.wait(60)
        code = next((c for k, c in CODE.items() if k in latest), "print(0)")
        return f"Let me compute.\n```python\n{code}\n```\n```output\n"
    return ScriptedBackend(default=reply)


@pytest.fixture
def replicas(store, sandbox_pool, tmp_path):
    made: list[TutorService] = []

    def make(backend=None) -> TutorService:
        settings = load_settings(data_dir=str(tmp_path), backend="scripted")
        service = TutorService(settings, store=store, backend=backend or solver(), pool=sandbox_pool)
        made.append(service)
        return service
    yield make
    for s in made:
        s.close()


def student(store):
    user = store.create_user("ada", "student")
    cls = store.create_class("algebra", allow_solve_mode=True)
    store.enroll(cls.id, user.id)
    return user


def test_a_replayed_cell_that_prints_something_else_is_told_and_flagged(store, replicas):
    a, b = replicas(), replicas()
    ada = student(store)
    first = list(a.start_session(ada.id, question="Roll a random number", mode="solve"))
    sid = first[0].session_id
    rolled = [e.stdout for e in first if e.kind == "output"]
    events = list(b.ask(ada.id, sid, "Now double it"))   # another replica: r is rebuilt by running the cell again
    kinds = [e.kind for e in events]
    notice = next(e for e in events if e.kind == "tutor_message")
    assert kinds.index("tutor_message") < kinds.index("output")      # said before the new result
    assert "different result" in notice.text and rolled[0].strip()[:6] in notice.text   # what she saw before
    flags = store.flags(session_id=sid)
    assert [f.reason for f in flags] == ["replay_mismatch"] and "import random" in flags[0].note
    rebuilt = [e.data for e in store.events(sid) if e.kind == "kernel_rebuilt"]
    assert rebuilt[0]["cells"] == 1 and [m["cell"] for m in rebuilt[0]["mismatches"]] == [1]
    # the notice is part of the session: a third replica folding it from the store shows it too
    view = replicas().open_session(ada.id, sid)
    assert any(e.get("kind") == "tutor_message" and e.get("text") == notice.text for e in view.events)
    # the teacher's transcript says the kernel was rebuilt and which cell printed what
    from app.teacher_review import render_transcript
    said = [m["content"] for m in render_transcript(store.transcript(sid))[0]]
    rebuilt_line = next(c for c in said if "kernel rebuilt" in c)
    assert "1 recorded cell" in rebuilt_line and "cell 1 printed" in rebuilt_line and rolled[0].strip()[:6] in rebuilt_line


def test_the_rebuilt_kernel_has_the_sessions_variables_and_a_matching_replay_says_nothing(store, replicas):
    a, b = replicas(), replicas()
    ada = student(store)
    sid = list(a.start_session(ada.id, question="slow one", mode="solve"))[0].session_id
    events = list(b.ask(ada.id, sid, "and one after"))
    assert [e.stdout.strip() for e in events if e.kind == "output"] == ["6"]
    assert not [e for e in events if e.kind == "tutor_message"] and not store.flags(session_id=sid)


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_replicas_never_interleave_one_sessions_actions(store, replicas):
    gate, entered = threading.Event(), threading.Event()
    a, b = replicas(solver(gate, entered)), replicas()
    ada = student(store)
    sid = list(a.start_session(ada.id, question="Roll a random number", mode="solve"))[0].session_id
    first: list = []
    turn = threading.Thread(target=lambda: first.extend(a.ask(ada.id, sid, "a slow one")))
    turn.start()
    assert entered.wait(60)                       # A holds the session: its model is mid-generation
    store.lock_wait_s = 0.2
    busy = list(b.ask(ada.id, sid, "one after"))
    assert len(busy) == 1 and isinstance(busy[0], ErrorEvent) and busy[0].code == "busy"
    store.lock_wait_s = 60.0
    second: list = []
    waiting = threading.Thread(target=lambda: second.extend(b.ask(ada.id, sid, "one after")))
    waiting.start()
    gate.set()
    turn.join(60)
    waiting.join(60)
    assert [e.stdout.strip() for e in second if e.kind == "output"] == ["6"]   # s from A's turn, replayed on B
    kinds = [(e.kind, (e.data or {}).get("text")) for e in store.events(sid, include_private=False)]
    a_done = min(i for i, k in enumerate(kinds) if k[0] == "done" and i > kinds.index(("message", "a slow one")))
    assert kinds.index(("message", "one after")) > a_done      # B's action began after A's had ended
    assert "error" not in [k for k, _ in kinds]                # the refused one left nothing in the session


def test_a_claim_that_finds_another_process_mid_action_marks_the_session_interrupted(store):
    ada = store.create_user("ada", "student")
    session = store.create_session(ada.id, question="x?", mode="solve")
    with store.engine.begin() as conn:   # a replica on another machine was in the middle of an action
        conn.execute(update(TutorSession).where(TutorSession.id == session.id).values(owner="elsewhere:1:abcd"))
    with store.session_lock(session.id):
        claim = store.claim_session(session.id)
        assert claim.interrupted_owner == "elsewhere:1:abcd" and claim.status == "interrupted"
        assert claim.event_count == store.get_session(session.id).event_count
        assert [e.kind for e in store.events(session.id)] == ["interrupted"]
        assert [f.reason for f in store.flags(session_id=session.id)] == ["interrupted"]
        store.resume_session(session.id)
        assert store.get_session(session.id).owner == store.owner     # ours while the action runs
        assert store.release_session(session.id) == 2
    assert store.get_session(session.id).owner is None
    assert store.recover_stale(stale_after_s=0) == []     # between actions nothing is in flight: not stale
    with store.session_lock(session.id):
        again = store.claim_session(session.id)
        assert again.interrupted_owner is None and again.status == "active"
        store.release_session(session.id)
