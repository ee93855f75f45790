"""When things go wrong the student gets a clear, friendly message and loses nothing: backend down,
sandbox busy, a question too long, input that cannot be read, rate limits, and the Stop button."""

from __future__ import annotations

import json
import time

import pytest

from tests.fixtures.web import PROBLEM, TutorScript, browser_sign_in, screenshot, sign_in


def events_of(response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_backend_down_is_explained_and_the_question_is_kept(web_factory):
    web = web_factory(script=TutorScript(down=True))
    web.user("ada", solve=True)
    with web.client() as c:
        token = sign_in(c, "ada")
        r = c.post("/api/sessions", json={"question": PROBLEM, "mode": "solve"}, headers={"x-csrf-token": token})
        events = events_of(r)
        errors = [e for e in events if e["kind"] == "error"]
        assert errors and errors[0]["code"] == "backend_unavailable"
        assert "not answering right now" in errors[0]["message"] and "saved" in errors[0]["message"]
        sid = events[0]["session_id"]
        # the question is in the student's history and the store, ready to try again
        listed = c.get("/api/sessions").json()
        assert [s["id"] for s in listed] == [sid]
        assert c.get(f"/api/sessions/{sid}").json()["question"] == PROBLEM
        assert any(e.kind == "error" for e in web.store.events(sid))
    assert 'mathtutor_errors_total{code="backend_unavailable"}' in web.ctx.metrics.exposition().decode()


def test_sandbox_busy_is_explained_and_the_tutor_answers_without_code(web_factory, tmp_path):
    from sandbox import KernelPool
    from tests.fixtures.sandbox import make_config
    with KernelPool(make_config(warm_kernels=0, max_kernels=1), tmp_path / "busy") as pool:
        pool.start()
        pool.acquire("someone-else")          # the only kernel is taken
        web = web_factory(pool=pool)
        web.user("ada", solve=True)
        with web.client() as c:
            token = sign_in(c, "ada")
            r = c.post("/api/sessions", json={"question": PROBLEM, "mode": "solve"},
                       headers={"x-csrf-token": token})
            events = events_of(r)
        busy = [e for e in events if e["kind"] == "error"]
        assert busy and busy[0]["code"] == "sandbox_busy" and "busy" in busy[0]["message"]
        assert events[-1]["kind"] == "done"
        assert any(e["kind"] == "text" for e in events)       # the turn went on, without running code
        assert not any(e["kind"] == "output" for e in events)
        web.server.stop()
        web.server = None


def test_too_long_and_unreadable_input_get_clear_errors(web_factory):
    web = web_factory(max_question_chars=200, max_message_chars=100)
    web.user("ada")
    with web.client() as c:
        token = sign_in(c, "ada")
        h = {"x-csrf-token": token}
        r = c.post("/api/sessions", json={"question": "x" * 201}, headers=h)
        assert r.status_code == 413 and r.json()["error"] == "too_long"
        assert "shorten" in r.json()["message"]
        r = c.post("/api/sessions", content=b'{"question": "\xff\xfe broken', headers={**h, "content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "unreadable"
        r = c.post("/api/sessions", json={"question": "   "}, headers=h)
        assert r.status_code == 400 and r.json()["error"] == "bad_input"
        assert web.store.list_sessions(web.store.user_by_name("ada").id) == []   # nothing half-made
        r = c.post("/api/sessions", json={"question": PROBLEM}, headers=h)
        sid = events_of(r)[0]["session_id"]
        r = c.post(f"/api/sessions/{sid}/ask", json={"text": "y" * 101}, headers=h)
        assert r.status_code == 413
        r = c.post(f"/api/sessions/{sid}/submit", json={"text": "x = = (", "kind": "step"}, headers=h)
        verdicts = [e for e in events_of(r) if e["kind"] == "attempt"]
        assert verdicts and verdicts[0]["verdict"] == "unreadable"


def test_rate_limit_on_hints_is_friendly_and_counted(web_factory):
    web = web_factory(web_hints_per_minute=2)
    web.user("ada")
    with web.client() as c:
        token = sign_in(c, "ada")
        h = {"x-csrf-token": token}
        sid = events_of(c.post("/api/sessions", json={"question": PROBLEM}, headers=h))[0]["session_id"]
        assert c.post(f"/api/sessions/{sid}/hint", json={}, headers=h).status_code == 200
        assert c.post(f"/api/sessions/{sid}/hint", json={}, headers=h).status_code == 200
        r = c.post(f"/api/sessions/{sid}/hint", json={}, headers=h)
        assert r.status_code == 429 and "little fast" in r.json()["message"]
        hints = [e for e in web.store.events(sid) if e.kind == "hint"]
        assert len(hints) == 2
    assert 'mathtutor_rate_limited_total{action="hint"} 1.0' in web.ctx.metrics.exposition().decode()


@pytest.mark.browser
def test_page_keeps_text_on_errors_and_stop_cancels(web_factory, browser_page):
    web = web_factory(delay_s=0.03, max_question_chars=300,
                      script=TutorScript(solve="Let me think about this slowly. " * 60 + "\\boxed{7}"))
    web.user("ada", solve=True)
    page = browser_page
    browser_sign_in(page, web.url, "ada")
    page.wait_for_selector("#mt-user >> text=Signed in as")

    # too long: a friendly notice, and the text stays in the box
    long_question = "Compute " + "1 + " * 100 + "1."
    page.locator("#mt-question textarea").fill(long_question)
    page.locator("#mt-start").click()
    page.wait_for_selector("#mt-notice >> text=longer than the tutor can read")
    assert page.locator("#mt-question textarea").input_value() == long_question

    # empty hint request before any problem: told what to do
    page.locator("#mt-hint").click()
    page.wait_for_selector("#mt-notice >> text=Start a problem first")

    # Stop cancels a long answer
    page.locator("#mt-mode").get_by_text("Solve it for me").click()
    page.locator("#mt-question textarea").fill(PROBLEM)
    page.locator("#mt-start").click()
    page.wait_for_selector("#mt-chat >> text=slowly")
    time.sleep(0.5)
    page.locator("#mt-stop").click()
    page.wait_for_selector("#mt-chat >> text=Stopped")      # said by the turn's own end, once it did stop
    screenshot(page, "stopped")
    sid = web.store.list_sessions(web.store.user_by_name("ada").id)[0].id
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = [e for e in web.store.events(sid) if e.kind == "done"]
        if done:
            break
        time.sleep(0.2)
    assert done and done[0].data["stopped"] == "cancelled"
    assert page.locator("#mt-chat .katex").count() == 0          # the boxed answer never came
    assert page.locator("#mt-status").inner_text().strip() == ""
    assert 'mathtutor_turns_total{action="start",outcome="cancelled"}' in web.ctx.metrics.exposition().decode()


def test_an_interrupted_session_says_so_and_carries_on(web_factory):
    from app.student import view_from_session
    web = web_factory()
    web.user("ada")
    with web.client() as c:
        token = sign_in(c, "ada")
        h = {"x-csrf-token": token}
        sid = events_of(c.post("/api/sessions", json={"question": PROBLEM}, headers=h))[0]["session_id"]
        web.store.set_status(sid, "interrupted")          # what start-up recovery does after a crash
        listed = c.get("/api/sessions").json()
        assert listed[0]["status"] == "interrupted"
        opened = web.service.open_session(web.store.user_by_name("ada").id, sid)
        view = view_from_session(opened, sid)
        assert view.interrupted
        assert "work on this together" in "\n".join(m["content"] for m in view.messages())
        # the next action resumes it
        r = c.post(f"/api/sessions/{sid}/hint", json={}, headers=h)
        assert any(e["kind"] == "hint" for e in events_of(r))
        assert c.get("/api/sessions").json()[0]["status"] == "active"
