"""Stop reaches an action from the moment it is asked for: before its thread has handed it to the service
(nothing in the service has a stop flag for it yet), and, for a new problem, before the new session has
said its id (the page can then only name itself). Such an action never reaches the model and ends Stopped."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Iterator

from tests.fixtures.web import PROBLEM, TutorScript

LONG = "Let us think about it slowly. " * 40 + "So the answer is $\\boxed{7}$."


def held(gate: threading.Event, start: Callable[[], Iterator[Any]]) -> Callable[[], Iterator[Any]]:
    """`start`, once `gate` opens: the action is asked for but not yet handed to the service."""
    def later() -> Iterator[Any]:
        assert gate.wait(60)
        return start()
    return later


def run_stopped(web: Any, action: str, user_id: int, session_id: int | None, start: Callable[[], Iterator[Any]],
                stop: Callable[[], bool]) -> tuple[bool, list[Any]]:
    async def main() -> tuple[bool, list[Any]]:
        gate = threading.Event()
        events = web.ctx.turns.run(action, user_id, session_id, held(gate, start), origin="page:one")
        stopping = stop()
        gate.set()
        return stopping, [e async for e in events]
    # in a thread of its own: a browser test earlier in the run leaves Playwright's loop on this one
    out: list[tuple[bool, list[Any]]] = []
    runner = threading.Thread(target=lambda: out.append(asyncio.run(main())))
    runner.start()
    runner.join(120)
    assert out, "the action did not end"
    return out[0]


def assert_stopped_unwritten(web: Any, events: list[Any]) -> int:
    assert events[-1].kind == "done" and events[-1].stopped == "cancelled", events
    assert not [e for e in events if e.kind in ("text", "code", "error")]   # the model never wrote for it
    sid = next(e.session_id for e in events if e.kind == "session_started")
    assert not [e for e in web.store.events(sid) if e.kind in ("code", "round_text") and e.data.get("text")]
    return sid


def test_stop_reaches_a_message_not_yet_handed_to_the_service(web_factory):
    web = web_factory(serve=False, script=TutorScript(solve=LONG))
    ada = web.user("ada", solve=True)
    sid = web.store.create_session(ada.id, mode="solve", question=PROBLEM).id
    assert web.ctx.turns.stop(ada.id, sid) is False          # nothing asked for: nothing to stop

    stopping, events = run_stopped(web, "ask", ada.id, sid, lambda: web.service.ask(ada.id, sid, "Solve it."),
                                   lambda: web.ctx.turns.stop(ada.id, sid))
    assert stopping is True
    assert events[-1].kind == "done" and events[-1].stopped == "cancelled", events
    assert not [e for e in events if e.kind in ("text", "code", "error")]
    assert web.ctx.turns.stop(ada.id, sid) is False          # it ended: a later Stop stops nothing


def test_stop_from_the_page_reaches_a_new_problem_before_its_session_is_known(web_factory):
    web = web_factory(serve=False, script=TutorScript(solve=LONG))
    ada, bob = web.user("ada", solve=True), web.user("bob", solve=True)
    start = lambda: web.service.start_session(ada.id, question=PROBLEM, mode="solve")  # noqa: E731

    # another page, or another student, stops nothing of it
    stopping, events = run_stopped(web, "start", ada.id, None, start,
                                   lambda: web.ctx.turns.stop(ada.id, None, origin="page:two")
                                   or web.ctx.turns.stop(bob.id, None, origin="page:one"))
    assert stopping is False and events[-1].kind == "done" and events[-1].stopped != "cancelled"
    assert "7" in "".join(e.text for e in events if e.kind == "text")

    stopping, events = run_stopped(web, "start", ada.id, None, start,
                                   lambda: web.ctx.turns.stop(ada.id, None, origin="page:one"))
    assert stopping is True
    assert events[0].kind == "session_started"               # the page still learns its new session
    assert_stopped_unwritten(web, events)
