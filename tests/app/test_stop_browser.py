"""Stop in the browser ends the turn for real: a solve whose code would run for ten minutes is stopped from
the page, the kernel's cell is interrupted, the chat says Stopped, and the page is free again."""

from __future__ import annotations

import dataclasses

import pytest

from tests.app.test_student_browser import CHAT, chat_text, start, wait_idle
from tests.fixtures.web import PROBLEM, TutorScript, browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOREVER = ("Let me check it numerically first.\n```python\nimport time\nwhile True:\n    time.sleep(0.05)\n```\n"
           "```output\n7\n```\nSo the answer is $\\boxed{7}$.")


def test_stop_during_a_running_cell_ends_the_turn(web_factory, browser_page):
    from tutor.settings import load_settings
    sandbox = dataclasses.replace(load_settings().sandbox, cell_timeout_s=600.0)
    web = web_factory(script=TutorScript(solve=FOREVER), sandbox=sandbox)
    web.user("ada", solve=True)
    page = browser_page
    browser_sign_in(page, web.url, "ada")
    page.wait_for_selector("#mt-user >> text=Signed in as")

    page.locator("#mt-stop").click()        # nothing running yet: nothing is said to have stopped
    page.wait_for_selector("#mt-notice >> text=Nothing is running")

    start(page, PROBLEM, "Solve it for me")
    page.wait_for_selector(f"{CHAT} >> text=running code")
    page.locator("#mt-stop").click()
    page.wait_for_selector(f"{CHAT} >> text=Stopped")
    wait_idle(page, timeout_s=120)           # the cell's own limit is ten minutes: only the Stop ended it
    screenshot(page, "stopped")
    assert "the answer is" not in chat_text(page)
    assert page.locator("#mt-notice").inner_text().strip() == ""   # "Stopping…" gave way to the chat's Stopped

    sid = web.store.list_sessions(web.store.user_by_name("ada").id)[0].id
    events = [e for e in web.store.events(sid) if e.kind in ("output", "done")]
    assert [e.kind for e in events] == ["output", "done"]
    assert events[0].data["error"]["type"] == "Stopped" and not events[0].data["timed_out"]
    assert events[1].data["stopped"] == "cancelled"
