"""The student page in real headless Chromium: in tutoring mode a student pastes a whole worked
solution and gets a focused question about the first line that goes wrong (not the answer); the
attempt is kept with that line for the teacher."""

from __future__ import annotations

import pytest

from tests.app.test_student_browser import chat_text, start_tutoring, wait_idle
from tests.fixtures.web import browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# the problem is 2x + 3 = 17: line 2 adds the 3 to 17 instead of taking it away
WORK = "2x + 3 = 17\n2x = 17 + 3\nx = 20/2 = 10"


def test_pasted_work_gets_a_question_about_its_first_wrong_line(web_factory, browser_page):
    web = web_factory(delay_s=0.004)
    ada = web.user("ada", solve=True)
    page = browser_page
    browser_sign_in(page, web.url, "ada")
    page.wait_for_selector("#mt-user >> text=Signed in as")
    start_tutoring(page)

    page.locator("#mt-kind").get_by_text("My worked solution").click()
    page.locator("#mt-attempt textarea").fill(WORK)
    page.locator("#mt-check").click()
    page.wait_for_selector("#mt-verdict >> text=line 2")
    wait_idle(page)
    verdict = page.locator("#mt-verdict").inner_text()
    assert "(line 2)" in verdict and "Look at line 2" in verdict and "?" in verdict
    assert "7" not in verdict and "14" not in verdict           # a question about the line, never the answer
    text = chat_text(page)
    assert "My work:" in text and "2x = 17 + 3" in text
    screenshot(page, "work-first-wrong-line")

    attempts = [a for s in web.store.list_sessions(ada.id) for a in web.store.attempts(s.id)]
    assert [(a.kind, a.verdict, a.first_bad_line) for a in attempts] == [("work", "incorrect", 2)]
