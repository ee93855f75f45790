"""Stop through the API reaches an action that is still waiting in line for a model slot: it never reaches
the model, and the Stop says it stopped something."""

from __future__ import annotations

import json
import threading

from tests.fixtures.web import PROBLEM, TutorScript, sign_in

LONG = "Let us think about it slowly. " * 40 + "So the answer is $\\boxed{7}$."


def test_stop_reaches_an_action_waiting_for_a_model_slot(web_factory):
    web = web_factory(script=TutorScript(solve=LONG), delay_s=0.2, web_max_concurrent_turns=1)
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
                        if started is not None and seen[-1]["kind"] == "text":
                            started.set()

        slow_events: list[dict] = []
        slow = threading.Thread(target=ask, args=(first, slow_events, running))
        slow.start()
        try:
            assert running.wait(60)                  # the one model slot is taken by a long reply
            waiting = threading.Thread(target=ask, args=(second, queued))
            waiting.start()
            while not web.ctx.turns.model_slots.stats()["waiting"]:  # the second action is in line for the slot
                assert waiting.is_alive()
                running.wait(0.05)
            assert c.post(f"/api/sessions/{second}/cancel", headers=h).json()["stopping"] is True
            waiting.join(60)
            assert [e["kind"] for e in queued][-1] == "done" and queued[-1]["stopped"] == "cancelled"
            assert [e["place"] for e in queued if e["kind"] == "waiting" and e["what"] == "model"] == [1, 0]
            assert not [e for e in queued if e["kind"] in ("text", "code")]   # the model never wrote for it
            assert not [e for e in web.store.events(second) if e.kind in ("code", "round_text") and e.data.get("text")]
        finally:
            c.post(f"/api/sessions/{first}/cancel", headers=h)
            slow.join(60)
    assert slow_events[-1]["kind"] == "done" and slow_events[-1]["stopped"] == "cancelled"
