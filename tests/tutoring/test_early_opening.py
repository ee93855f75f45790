"""A new tutoring session says its opening as soon as the key's answer and steps are known, while the
key's confirmation (the check program and the second route) still runs; nothing is graded against the
key until it is confirmed. The check program is held at a gate the test opens, so the order is forced,
not timed."""

from __future__ import annotations

import threading

import pytest

from tests.fixtures.tutor_prompts import classify
from tests.tutoring.world import ANSWER, PROBLEM, World, collect, make_student, of_type, tutor_settings
from tutor.events import AttemptChecked, Done, ErrorEvent, HintGiven, KeyStatus, SessionStarted, TutorMessage
from tutor.solver.backends import ScriptedBackend
from tutor.tutoring.service import TutorService
from tutor.tutoring.session import check_answer
from tutor.tutoring.state import rebuild


class Gate:
    """Holds the check program's reply until opened; `waits` records, per reply, whether the gate was
    opened (True) or the wait ran out (False: the opening never came while it was held)."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.waits: list[bool] = []


@pytest.fixture
def gate():
    return Gate()


@pytest.fixture
def world():
    return World()


@pytest.fixture
def service(store, sandbox_pool, tmp_path, gate, world):

    def reply(prompt: str) -> str:
        if classify(prompt).kind == "verify":
            gate.waits.append(gate.open.wait(60))
        return world.reply(prompt)
    svc = TutorService.from_settings(tutor_settings(tmp_path), store=store, backend=ScriptedBackend(default=reply),
                                     pool=sandbox_pool)
    yield svc
    try:   # live and rebuilt from the store agree (the early key is never what a session keeps)
        for sid, live in list(svc._live.items()):
            assert rebuild(store, store.get_session(sid), allow_skip=live.allow_skip) == live
    finally:
        gate.open.set()
        svc.close()


def _until_opening(stream) -> list:
    seen = []
    for ev in stream:
        seen.append(ev)
        if isinstance(ev, TutorMessage):
            return seen
    raise AssertionError(f"the stream ended without an opening: {seen}")


def test_the_opening_comes_while_the_key_is_confirmed_and_nothing_is_graded_before(service, store, gate, world):
    ada = make_student(store)
    stream = service.start_session(ada.id, question=PROBLEM, mode="tutor")
    seen = _until_opening(stream)
    sid = of_type(seen, SessionStarted)[0].session_id
    assert seen[-1].purpose == "opening" and "worked it out privately in 2 steps" in seen[-1].text
    assert "double-checked" not in seen[-1].text       # no caution for a key whose check is still running
    # the status the page shows: what is being prepared, step by step
    assert [(e.status, e.message) for e in of_type(seen, KeyStatus)] == [
        ("preparing", "Working out the problem…"), ("preparing", "Checking the answer two ways…")]
    assert gate.waits == []                               # the check program is still held
    assert store.solution_key(session_id=sid) is None     # nothing kept until the key is confirmed
    live = service._live[sid]
    assert live.key.confirming and not live.key.gradable
    assert service.open_session(ada.id, sid).key_status == "preparing"   # a second tab says so too
    assert check_answer(live, ANSWER, 10.0).verdict == "unchecked"   # the right answer, yet not marked
    # an answer sent meanwhile is not graded: the session is busy with its start
    meanwhile = collect(service.submit(ada.id, sid, ANSWER))
    assert [e.code for e in of_type(meanwhile, ErrorEvent)] == ["busy"] and not of_type(meanwhile, AttemptChecked)

    gate.open.set()
    rest = collect(stream)
    assert gate.waits and all(gate.waits)                 # answered only once the gate was opened
    assert [e.status for e in of_type(rest, KeyStatus)] == ["verified"]
    assert not of_type(rest, TutorMessage)                # the opening is said once
    assert store.solution_key(session_id=sid).verified and live.key.gradable
    # the first rung was written while the key was confirmed: asking for it needs no model call
    assert world.calls.count("hint 1.1") == 1
    hint = of_type(collect(service.next_hint(ada.id, sid)), HintGiven)[0]
    assert (hint.step, hint.level, hint.guard) == (1, 1, "passed") and world.calls.count("hint 1.1") == 1
    assert [(h.step, h.level) for h in store.hints(sid)] == [(1, 1)]
    # once confirmed, answers are marked
    assert of_type(collect(service.submit(ada.id, sid, ANSWER)), AttemptChecked)[0].verdict == "correct"
    kinds = [e.kind for e in store.events(sid, include_private=False)]
    assert kinds.index("tutor_message") < kinds.index("key_status")   # stored in the order the student saw


def test_a_stop_while_the_key_is_confirmed_keeps_no_key_and_the_next_action_prepares_it(service, store, gate):
    ada = make_student(store)
    stream = service.start_session(ada.id, question=PROBLEM, mode="tutor")
    sid = of_type(_until_opening(stream), SessionStarted)[0].session_id
    assert service.cancel(ada.id, sid)
    gate.open.set()
    rest = collect(stream)
    # stopped in the first hint written ahead (Done "cancelled") or in the confirmation ("unavailable")
    assert [e.stopped for e in of_type(rest, Done)] == ["cancelled"] or \
        [e.status for e in of_type(rest, KeyStatus)] == ["unavailable"]
    assert "verified" not in [e.status for e in of_type(rest, KeyStatus)]
    assert store.solution_key(session_id=sid) is None and service._live[sid].key_pending
    # the next hint prepares the key first (its opening was already said), then gives the first rung
    events = collect(service.next_hint(ada.id, sid))
    assert [e.status for e in of_type(events, KeyStatus) if e.status != "preparing"] == ["verified"]
    assert not of_type(events, TutorMessage) and of_type(events, HintGiven)[0].level == 1
    assert store.solution_key(session_id=sid).verified
