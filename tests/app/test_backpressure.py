"""Backpressure a person understands: when the tutor is full an action is kept in line (never refused
with queue_full), its student hears the place in line, and actions are served in the order they
came. A model slot is held only while the model writes, never while a kernel runs a cell."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from tests.fixtures.web import PROBLEM, TutorScript, sign_in

SLOW_TEXT = "We add the two numbers, so the total is seven and the answer is $\\boxed{7}$."
FOREVER = ("Let me check it numerically first.\n```python\nimport time\nwhile True:\n    time.sleep(0.05)\n```\n"
           "```output\n7\n```\nSo the answer is $\\boxed{7}$.")


def stats(web) -> dict:
    return web.ctx.turns.model_slots.stats()


def until(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.02)


def asker(web, c, h, sid: int, seen: list, status: list, first_text: dict) -> threading.Thread:
    def ask() -> None:
        with web.client() as own:
            own.cookies = c.cookies
            with own.stream("POST", f"/api/sessions/{sid}/ask", json={"text": "Solve it."}, headers=h) as r:
                status.append(r.status_code)
                for line in r.iter_lines():
                    event = json.loads(line)
                    seen.append(event)
                    if event["kind"] == "text" and sid not in first_text:
                        first_text[sid] = time.monotonic()
    t = threading.Thread(target=ask)
    t.start()
    return t


def test_a_full_tutor_keeps_actions_in_line_and_serves_them_in_order(web_factory):
    # one model slot and a queue limit of one: before, the third action was refused with queue_full
    web = web_factory(script=TutorScript(solve=SLOW_TEXT), delay_s=0.3, web_max_concurrent_turns=1,
                      web_max_queue=1, web_asks_per_minute=0)
    ada = web.user("ada", solve=True)
    sids = [web.store.create_session(ada.id, mode="solve", question=PROBLEM).id for _ in range(3)]
    events: dict[int, list] = {sid: [] for sid in sids}
    status: list[int] = []
    first_text: dict[int, float] = {}
    with web.client() as c:
        h = {"x-csrf-token": sign_in(c, "ada")}
        threads = [asker(web, c, h, sids[0], events[sids[0]], status, first_text)]
        until(lambda: stats(web)["busy"] == 1, "the first action holds the one model slot")
        threads.append(asker(web, c, h, sids[1], events[sids[1]], status, first_text))
        until(lambda: stats(web)["waiting"] == 1, "the second action is in line")
        threads.append(asker(web, c, h, sids[2], events[sids[2]], status, first_text))
        until(lambda: stats(web)["waiting"] == 2, "the third action is in line behind it")
        for t in threads:
            t.join(120)
    assert status == [200, 200, 200]
    for sid in sids:
        kinds = [e["kind"] for e in events[sid]]
        assert "error" not in kinds and kinds[-1] == "done" and events[sid][-1]["stopped"] != "cancelled"
    places = {sid: [e["place"] for e in events[sid] if e["kind"] == "waiting" and e["what"] == "model"] for sid in sids}
    # an action makes more than one model call and each may wait again; its first wait is checked
    for sid in sids[1:]:
        first_wait = places[sid][:places[sid].index(0) + 1]
        assert first_wait[0] >= 1 and first_wait[-1] == 0     # told its place, then that its turn came
        assert first_wait[:-1] == sorted(first_wait[:-1], reverse=True)   # it only ever moved forward
    assert first_text[sids[1]] < first_text[sids[2]]   # first come, first served
    waiting = [e for e in events[sids[2]] if e["kind"] == "waiting" and e["what"] == "model"][0]
    assert waiting["eta_s"] >= 0
    # the page says the same in words, and the request was kept
    assert not [e for e in web.store.events(sids[2]) if e.kind == "waiting"]   # shown, never stored


def test_the_page_shows_the_place_in_line():
    from app.render import ChatView
    from tutor.events import Waiting
    view = ChatView()
    view.apply(Waiting(what="kernel", place=3, eta_s=4.0))
    assert "number 3 in line" in view.status and "code kernel" in view.status and "kept" in view.status
    view.apply(Waiting(what="model", place=0))
    assert view.status == "Thinking…"


@pytest.mark.kernel
def test_no_model_slot_is_held_while_a_cell_runs(web_factory):
    from tutor.settings import load_settings
    sandbox = dataclasses.replace(load_settings().sandbox, cell_timeout_s=600.0)
    web = web_factory(script=TutorScript(solve=FOREVER), sandbox=sandbox, web_max_concurrent_turns=1,
                      web_asks_per_minute=0)
    ada = web.user("ada", solve=True)
    first, second = (web.store.create_session(ada.id, mode="solve", question=PROBLEM).id for _ in range(2))
    seen: dict[int, list] = {first: [], second: []}
    status: list[int] = []
    with web.client() as c:
        h = {"x-csrf-token": sign_in(c, "ada")}
        threads = [asker(web, c, h, first, seen[first], status, {})]
        try:
            until(lambda: any(e["kind"] == "code" for e in seen[first]), "the first cell runs")
            assert stats(web)["busy"] == 0           # its cell runs; the model is free
            threads.append(asker(web, c, h, second, seen[second], status, {}))
            # with the one slot held through the cell, this would wait for a cell that never ends
            until(lambda: any(e["kind"] == "code" for e in seen[second]), "the second action's model wrote")
            assert not [e for e in seen[second] if e["kind"] == "waiting"]
        finally:
            for sid in (first, second):
                c.post(f"/api/sessions/{sid}/cancel", headers=h)
            for t in threads:
                t.join(60)
    assert all(seen[sid][-1]["kind"] == "done" and seen[sid][-1]["stopped"] == "cancelled" for sid in (first, second))
