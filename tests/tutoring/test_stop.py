"""Stop on the tutoring facade: it reaches an action from the moment the action is asked for (before its
first event), a stopped action shows nothing half-made and ends with Done(stopped="cancelled"), and a
Stop with nothing running stops nothing later."""

from __future__ import annotations

import threading

import pytest

from tests.fixtures.tutor_prompts import classify
from tests.tutoring.world import PROBLEM, World, collect, make_student, of_type, tutor_settings
from tutor.events import Done, HintGiven, KeyStatus, SessionStarted
from tutor.solver.backends import ScriptedBackend
from tutor.tutoring.service import TutorService
from tutor.tutoring.state import rebuild

LONG_TAIL = " Think about which operation undoes the one done to x, and do it to both sides." * 40


@pytest.fixture
def hint_asked():
    return threading.Event()


@pytest.fixture
def service(store, sandbox_pool, tmp_path, hint_asked):
    world = World()

    def reply(prompt: str) -> str:
        text = world.reply(prompt)
        if classify(prompt).kind == "hint":
            hint_asked.set()
            return text + LONG_TAIL        # a hint the model takes a long while to write
        return text
    backend = ScriptedBackend(default=reply, delay_s=0.005)
    svc = TutorService.from_settings(tutor_settings(tmp_path), store=store, backend=backend, pool=sandbox_pool)
    svc.test_backend = backend
    yield svc
    try:   # a stopped action leaves the session as its stored events rebuild it (one path for state)
        for sid, live in list(svc._live.items()):
            assert rebuild(store, store.get_session(sid), allow_skip=live.allow_skip) == live
    finally:
        svc.close()


def _tutor_session(service, user) -> int:
    events = collect(service.start_session(user.id, question=PROBLEM, mode="tutor"))
    assert of_type(events, KeyStatus)[-1].status == "verified"
    return of_type(events, SessionStarted)[0].session_id


def test_a_hint_stopped_while_the_model_writes_it_shows_nothing(service, store, hint_asked):
    ada = make_student(store)
    sid = _tutor_session(service, ada)
    # the first rung was written while the key was confirmed (shown at once); the second is written when asked
    assert [(h.step, h.level) for h in of_type(collect(service.next_hint(ada.id, sid)), HintGiven)] == [(1, 1)]
    hint_asked.clear()
    stream = service.next_hint(ada.id, sid)
    stopper = threading.Thread(target=lambda: hint_asked.wait(60) and service.cancel(ada.id, sid))
    stopper.start()
    events = collect(stream)
    stopper.join(60)
    assert not of_type(events, HintGiven)                       # no half-written (or fallback) hint
    assert isinstance(events[-1], Done) and events[-1].stopped == "cancelled"
    seen = [e.kind for e in store.events(sid, include_private=False)]
    assert seen.count("hint") == 1 and seen[-1] == "done"
    # the next hint is the second rung again, written in full: the Stop ended with its action
    again = collect(service.next_hint(ada.id, sid))
    assert [(h.step, h.level) for h in of_type(again, HintGiven)] == [(1, 2)]


def test_stop_before_the_first_event_stops_the_action(service, store):
    ada = make_student(store, allow_solve=True)
    events = collect(service.start_session(ada.id, question=PROBLEM, mode="solve"))
    sid = of_type(events, SessionStarted)[0].session_id
    asked = len(service.test_backend.prompts)
    stream = service.ask(ada.id, sid, "Can you solve it again?")   # asked for, not begun
    assert service.cancel(ada.id, sid) is True
    events = collect(stream)
    assert isinstance(events[-1], Done) and events[-1].stopped == "cancelled"
    assert len(service.test_backend.prompts) == asked           # the model was never asked


def test_a_stop_with_nothing_running_stops_nothing_later(service, store):
    ada = make_student(store)
    sid = _tutor_session(service, ada)
    assert service.cancel(ada.id, sid) is False
    events = collect(service.next_hint(ada.id, sid))
    assert [(h.step, h.level) for h in of_type(events, HintGiven)] == [(1, 1)]
    assert not [e for e in events if isinstance(e, Done)]
