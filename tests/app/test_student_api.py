"""The student's API beyond the happy path of the page: assigned problems, which modes a class
allows, other students served while one student's code runs, and runaway code counted as a kill."""

from __future__ import annotations

import dataclasses
import json
import threading

from tests.fixtures.web import PROBLEM, TutorScript, sign_in


def events_of(response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_a_student_starts_an_assigned_problem_in_the_modes_the_class_allows(live_server):
    web = live_server
    ada = web.user("ada")                                   # her class does not allow solve mode
    cls = web.store.list_classes(student_id=ada.id)[0]
    problem = web.store.create_problem(PROBLEM, source="teacher", reference_answer="7")
    web.store.assign(cls.id, problem_id=problem.id)
    with web.client() as c:
        h = {"x-csrf-token": sign_in(c, "ada")}
        problems = c.get("/api/problems").json()
        assert [p["id"] for p in problems] == [problem.id] and problems[0]["text"] == PROBLEM
        r = c.post("/api/sessions", json={"problem_id": problem.id, "mode": "solve"}, headers=h)
        assert r.status_code == 403 and "does not allow" in r.json()["message"]
        events = events_of(c.post("/api/sessions", json={"problem_id": problem.id, "mode": "tutor"}, headers=h))
        assert events[0]["kind"] == "session_started" and events[0]["problem_id"] == problem.id
        assert any(e["kind"] == "tutor_message" for e in events)
        assert c.get("/api/problems").json()[0]["sessions"] == 1


def test_other_students_are_served_while_one_students_code_runs(web_factory):
    """Ada's cell runs until she stops it, so Bob being served meanwhile shows he did not wait for it,
    however slowly a loaded machine serves either of them (no timing involved)."""
    from tutor.settings import load_settings
    sandbox = dataclasses.replace(load_settings().sandbox, cell_timeout_s=600.0)
    slow = ("Let me wait for the computer.\n```python\nimport time\nwhile True:\n    time.sleep(0.05)\n```\n"
            "```output\ndone waiting\n```\nSo $\\boxed{7}$.")
    web = web_factory(script=TutorScript(solve=slow), sandbox=sandbox)
    web.user("ada", solve=True)
    web.user("bob")
    seen: list[dict] = []
    code_running = threading.Event()

    def ada_turn() -> None:
        with web.client() as c:
            h = {"x-csrf-token": sign_in(c, "ada")}
            with c.stream("POST", "/api/sessions", json={"question": PROBLEM, "mode": "solve"}, headers=h) as r:
                for line in r.iter_lines():
                    event = json.loads(line)
                    if event["kind"] != "text":
                        seen.append(event)
                    if event["kind"] == "code":
                        code_running.set()

    thread = threading.Thread(target=ada_turn)
    thread.start()
    try:
        assert code_running.wait(60)
        with web.client() as bob:
            sign_in(bob, "bob")
            assert bob.get("/tutor/").status_code == 200
            assert bob.get("/api/sessions").json() == []
            assert bob.get("/api/problems").status_code == 200
            assert bob.get("/healthz").status_code == 200
        assert "output" not in [e["kind"] for e in seen], "Ada's cell ended on its own"
    finally:   # stopped even when an assertion above failed, so the thread does not run on
        sid = next((e["session_id"] for e in seen if e["kind"] == "session_started"), None)
        with web.client() as ada:
            stop = ada.post(f"/api/sessions/{sid}/cancel", headers={"x-csrf-token": sign_in(ada, "ada")})
        thread.join(60)
    assert stop.json()["stopping"] is True and not thread.is_alive()
    output = next(e for e in seen if e["kind"] == "output")
    assert output["error"]["type"] == "Stopped"                  # her Stop reached the running cell
    assert seen[-1]["kind"] == "done" and seen[-1]["stopped"] == "cancelled"


def test_runaway_code_is_stopped_and_counted(web_factory):
    from tutor.settings import load_settings
    sandbox = dataclasses.replace(load_settings().sandbox, cell_timeout_s=1.0)
    loop = ("Let me loop.\n```python\nwhile True:\n    pass\n```\n```output\nTimeout\n```\nSo $\\boxed{7}$.")
    web = web_factory(script=TutorScript(solve=loop), sandbox=sandbox)
    web.user("ada", solve=True)
    with web.client() as c:
        h = {"x-csrf-token": sign_in(c, "ada")}
        events = events_of(c.post("/api/sessions", json={"question": PROBLEM, "mode": "solve"}, headers=h))
        output = next(e for e in events if e["kind"] == "output")
        assert output["timed_out"] is True
        assert events[-1]["kind"] == "done"
        metrics = web.ctx.metrics.exposition().decode()  # /metrics itself is for admins (test_ops)
    assert 'mathtutor_sandbox_kills_total{reason="timeout"} 1.0' in metrics
