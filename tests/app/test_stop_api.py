"""Stop through the API reaches an action that is still waiting for a turn slot: it never reaches the
tutor, and the Stop says it stopped something."""

from __future__ import annotations

import dataclasses
import json
import threading

from tests.fixtures.web import PROBLEM, TutorScript, sign_in

FOREVER = ("Let me check it numerically first.\n```python\nimport time\nwhile True:\n    time.sleep(0.05)\n```\n"
           "```output\n7\n```\nSo the answer is $\\boxed{7}$.")


def test_stop_reaches_an_action_waiting_for_a_turn_slot(web_factory):
    from tutor.settings import load_settings
    sandbox = dataclasses.replace(load_settings().sandbox, cell_timeout_s=600.0)
    web = web_factory(script=TutorScript(solve=FOREVER), sandbox=sandbox, web_max_concurrent_turns=1)
    ada = web.user("ada", solve=True)
    first = web.store.create_session(ada.id, mode="solve", question=PROBLEM).id
    second = web.store.create_session(ada.id, mode="solve", question=PROBLEM).id
    running = threading.Event()
    queued: list[dict] = []

    with web.client() as c:
        h = {"x-csrf-token": sign_in(c, "ada")}

        def ask(sid: int, seen: list[dict], started: threading.Event | None = None) -> None:
            with web.client() as own:
                own.cookies = c.cookies
                with own.stream("POST", f"/api/sessions/{sid}/ask", json={"text": "Solve it."}, headers=h) as r:
                    for line in r.iter_lines():
                        seen.append(json.loads(line))
                        if started is not None and seen[-1]["kind"] == "code":
                            started.set()

        slow_events: list[dict] = []
        slow = threading.Thread(target=ask, args=(first, slow_events, running))
        slow.start()
        try:
            assert running.wait(60)                  # the one turn slot is taken by a cell that never ends
            waiting = threading.Thread(target=ask, args=(second, queued))
            waiting.start()
            while not web.ctx.turns._waiting_stops:  # the second action is queued for the slot
                assert waiting.is_alive()
                running.wait(0.05)
            assert c.post(f"/api/sessions/{second}/cancel", headers=h).json()["stopping"] is True
            waiting.join(60)
            assert [e["kind"] for e in queued] == ["done"] and queued[0]["stopped"] == "cancelled"
            assert not [e for e in web.store.events(second)]    # it never reached the tutor
        finally:
            c.post(f"/api/sessions/{first}/cancel", headers=h)
            slow.join(60)
    assert slow_events[-1]["kind"] == "done" and slow_events[-1]["stopped"] == "cancelled"
