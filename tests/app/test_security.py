"""HTTP-level security of the student side: no session, no access; no reading or writing another
student's session by id (JSON API and Gradio's own queue endpoints); CSRF on every state change;
markup in questions, model text and kernel output shown as text in a real browser."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.fixtures.web import PROBLEM, TutorScript, browser_sign_in, screenshot, sign_in


def gradio_call(client, fn_name: str, data: list, session_hash: str | None = None) -> list[dict]:
    """Call one event handler of the /tutor page through Gradio's queue, as the browser does; returns
    every message the queue streamed back for it."""
    config = client.get("/tutor/config")
    assert config.status_code == 200
    dep = next(d for d in config.json()["dependencies"] if d.get("api_name") == fn_name)
    session_hash = session_hash or uuid.uuid4().hex[:10]
    r = client.post("/tutor/gradio_api/queue/join",
                    json={"data": data, "fn_index": dep["id"], "trigger_id": dep["targets"][0][0],
                          "session_hash": session_hash, "event_data": None})
    assert r.status_code == 200, r.text
    messages = []
    with client.stream("GET", f"/tutor/gradio_api/queue/data?session_hash={session_hash}") as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            messages.append(msg)
            if msg.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                break
    return messages


def start_session(client, token: str, question: str = PROBLEM, mode: str = "tutor") -> tuple[int, list[dict]]:
    r = client.post("/api/sessions", json={"question": question, "mode": mode}, headers={"x-csrf-token": token})
    assert r.status_code == 200, r.text
    events = [json.loads(line) for line in r.text.splitlines()]
    return events[0]["session_id"], events


# --- no session ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/api/me"), ("GET", "/api/sessions"), ("GET", "/api/sessions/1"), ("GET", "/api/problems"),
    ("POST", "/api/sessions"), ("POST", "/api/sessions/1/ask"), ("POST", "/api/sessions/1/hint"),
    ("POST", "/api/sessions/1/submit"), ("POST", "/api/sessions/1/cancel"),
    ("GET", "/tutor/config"), ("GET", "/tutor/gradio_api/info"), ("POST", "/tutor/gradio_api/queue/join"),
    ("GET", "/tutor/gradio_api/queue/data?session_hash=x"),
])
def test_routes_refuse_without_a_session(live_server, method, path):
    with live_server.client() as c:
        r = c.request(method, path, json={"text": "hi", "data": [], "fn_index": 1, "session_hash": "x"})
        assert r.status_code in (401, 403), (path, r.status_code)
        assert "session_id" not in r.text


def test_pages_redirect_to_sign_in_without_a_session(live_server):
    with live_server.client() as c:
        for path in ("/", "/tutor", "/tutor/"):
            r = c.get(path, headers={"accept": "text/html"})
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
        assert c.get("/tutor/", headers={"accept": "text/html"}).headers["location"] == "/login?next=/tutor/"


def test_gradio_refuses_a_signed_out_browser_even_with_a_page_session_hash(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        sign_in(c, "ada")
        hash_ = uuid.uuid4().hex[:10]
        assert gradio_call(c, "on_load", [], hash_)[-1]["msg"] == "process_completed"
        c.cookies.clear()
        r = c.post("/tutor/gradio_api/queue/join", json={"data": [], "fn_index": 0, "session_hash": hash_})
        assert r.status_code == 401


# --- another student's session ---------------------------------------------------------------------------

def test_a_student_cannot_read_or_write_another_students_session(live_server):
    web = live_server
    web.user("ada")
    web.user("bob")
    with web.client() as ada, web.client() as bob:
        ada_token = sign_in(ada, "ada")
        sid, _ = start_session(ada, ada_token, "Ada's secret problem: solve 2x + 3 = 17.")
        bob_token = sign_in(bob, "bob")
        before = len(web.store.events(sid))

        assert sid not in [s["id"] for s in bob.get("/api/sessions").json()]
        r = bob.get(f"/api/sessions/{sid}")
        assert r.status_code == 404 and "secret" not in r.text
        h = {"x-csrf-token": bob_token}
        for path, body in ((f"/api/sessions/{sid}/ask", {"text": "give me the answer"}),
                           (f"/api/sessions/{sid}/hint", {}),
                           (f"/api/sessions/{sid}/submit", {"text": "7", "kind": "answer"}),
                           (f"/api/sessions/{sid}/cancel", {})):
            r = bob.post(path, json=body, headers=h)
            assert r.status_code == 404, (path, r.status_code, r.text)
        # nothing was written to Ada's session, and she still sees it whole
        assert len(web.store.events(sid)) == before
        assert ada.get(f"/api/sessions/{sid}").json()["question"].startswith("Ada's secret")


def test_gradio_endpoints_do_not_open_another_students_session(live_server):
    web = live_server
    web.user("ada")
    web.user("bob")
    with web.client() as ada, web.client() as bob:
        sid, _ = start_session(ada, sign_in(ada, "ada"), "Ada's secret problem: solve 2x + 3 = 17.")
        sign_in(bob, "bob")
        hash_ = uuid.uuid4().hex[:10]
        gradio_call(bob, "on_load", [], hash_)
        for value in (sid, str(sid)):
            messages = gradio_call(bob, "on_open", [value], hash_)
            assert "secret" not in json.dumps(messages)
        # the hint and check handlers act only on the session this page opened itself (none)
        for name, data in (("on_hint", [None]), ("on_check", ["7", "answer", None])):
            messages = gradio_call(bob, name, data, hash_)
            assert "secret" not in json.dumps(messages)
        assert not any(e.kind in ("hint", "attempt") for e in web.store.events(sid))


# --- CSRF ---------------------------------------------------------------------------------------------------

def test_cross_origin_posts_are_refused_even_on_gradio_routes(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        token = sign_in(c, "ada")
        evil = {"origin": "http://evil.example"}
        r = c.post("/tutor/gradio_api/queue/join", json={"data": [], "fn_index": 0, "session_hash": "x"},
                   headers=evil)
        assert r.status_code == 403
        r = c.post("/api/sessions", json={"question": PROBLEM}, headers={**evil, "x-csrf-token": token})
        assert r.status_code == 403
        assert c.post("/logout", data={"csrf_token": token}, headers=evil).status_code == 403
        assert c.get("/api/me").status_code == 200                  # still signed in
        same = {"origin": live_server.url}
        assert gradio_call(c, "on_load", [])[-1]["msg"] == "process_completed"
        assert c.post("/logout", data={"csrf_token": token}, headers=same).status_code == 303


def test_state_changes_need_this_browsers_csrf_token(live_server):
    web = live_server
    web.user("ada")
    web.user("bob")
    with web.client() as ada, web.client() as bob:
        ada_token = sign_in(ada, "ada")
        bob_token = sign_in(bob, "bob")
        body = {"question": PROBLEM, "mode": "tutor"}
        assert ada.post("/api/sessions", json=body).status_code == 403
        assert ada.post("/api/sessions", json=body, headers={"x-csrf-token": "0" * 64}).status_code == 403
        assert ada.post("/api/sessions", json=body, headers={"x-csrf-token": bob_token}).status_code == 403
        assert web.store.list_sessions(web.store.user_by_name("ada").id) == []
        sid, _ = start_session(ada, ada_token)
        assert ada.post(f"/api/sessions/{sid}/hint", json={}).status_code == 403
        assert ada.post(f"/api/sessions/{sid}/submit", json={"text": "7"}).status_code == 403
        # signing in again issues a new token: the old one stops working
        old = ada_token
        ada.cookies.clear()
        new = sign_in(ada, "ada")
        assert new != old
        assert ada.post(f"/api/sessions/{sid}/cancel", headers={"x-csrf-token": old}).status_code == 403
        assert ada.post(f"/api/sessions/{sid}/cancel", headers={"x-csrf-token": new}).status_code == 200


# --- markup is shown as text --------------------------------------------------------------------------------

HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"><b>bold</b>"


@pytest.mark.browser
def test_markup_in_question_model_text_and_output_is_shown_as_text(web_factory, browser_page):
    script = TutorScript(solve=("Here is markup: " + HOSTILE.replace("1", "3").replace("2", "4") +
                                " and math $1 < 2$.\n```python\nprint('<script>window.__pwned = 5</script>')\n```\n"
                                "```output\nx\n```\nSo the answer is $\\boxed{7}$."))
    web = web_factory(script=script)
    web.user("ada", solve=True)
    page = browser_page
    browser_sign_in(page, web.url, "ada")
    page.wait_for_selector("#mt-user >> text=Signed in as")
    page.locator("#mt-mode").get_by_text("Solve it for me").click()
    page.locator("#mt-question textarea").fill("Question " + HOSTILE + " $2x+3=17$")
    page.locator("#mt-start").click()
    page.wait_for_selector("#mt-chat >> text=So the answer is", timeout=60_000)
    chat = page.locator("#mt-chat")
    text = chat.inner_text()
    assert text.count("<script>window.__pwned = 1</script>") == 1          # the question, as typed
    assert "<script>window.__pwned = 3</script>" in text                     # the model's text
    assert "<b>bold</b>" in text
    assert page.evaluate("window.__pwned") is None
    assert chat.locator("script").count() == 0
    assert chat.locator("img[src=x]").count() == 0
    assert chat.locator(".message b:text-is('bold')").count() == 0
    assert chat.locator(".katex").count() >= 2                               # math still renders
    toggle = chat.get_by_text("ran code").first
    output = chat.locator("pre.mt-output").first
    if not output.is_visible():
        toggle.click()
    assert output.inner_text().strip() == "<script>window.__pwned = 5</script>"
    screenshot(page, "markup-as-text")
