"""Stop in the browser reaches an action that waits for its turn while every model slot is busy: the page
shows its place in line (our own queue, not Gradio's, holds it), Stop says it is stopping, and the chat
says Stopped without the model ever writing for it."""

from __future__ import annotations

import pytest

from tests.app.test_student_browser import CHAT, chat_text, start, wait_idle
from tests.fixtures.web import PROBLEM, TutorScript, browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG = "Let us think about it slowly. " * 40 + "So the answer is $\\boxed{7}$."


def test_stop_reaches_a_new_problem_waiting_in_line(web_factory, browser_page):
    web = web_factory(script=TutorScript(solve=LONG), delay_s=0.2, web_max_concurrent_turns=1)
    web.user("ada", solve=True)
    first = browser_page
    browser_sign_in(first, web.url, "ada")
    first.wait_for_selector("#mt-user >> text=Signed in as")
    second = first.context.new_page()            # another tab of the same student
    second.set_default_timeout(30_000)
    second._test_name = first._test_name  # type: ignore[attr-defined]
    second.goto(f"{web.url}/tutor")
    second.wait_for_selector("#mt-user >> text=Signed in as")

    start(first, PROBLEM, "Solve it for me")
    first.wait_for_selector(f"{CHAT} >> text=think about it")   # the one model slot is writing for the first tab
    start(second, PROBLEM, "Solve it for me")
    second.wait_for_selector("#mt-status >> text=number 1 in line")
    second.locator("#mt-stop").click()
    second.wait_for_selector("#mt-notice >> text=Stopping")
    second.wait_for_selector(f"{CHAT} >> text=Stopped")
    wait_idle(second)
    screenshot(second, "stopped-in-line")
    assert "think about it" not in chat_text(second)           # the model never wrote for it
    assert "Stopped" not in chat_text(first)                    # the first tab's turn goes on

    first.locator("#mt-stop").click()
    first.wait_for_selector(f"{CHAT} >> text=Stopped")
    wait_idle(first)
    sessions = web.store.list_sessions(web.store.user_by_name("ada").id)
    assert len(sessions) == 2
    for s in sessions:
        assert [e.data["stopped"] for e in web.store.events(s.id) if e.kind == "done"] == ["cancelled"]
