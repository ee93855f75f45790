"""The student page end to end in real headless Chromium, against a live server with the scripted
model and real kernels: sign in, solve with streamed math and a run-code block, tutoring with two
hints, a wrong then a right answer, reload and resume from the history list."""

from __future__ import annotations

import re
import time

import pytest

from tests.fixtures.web import PROBLEM, browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAT = "#mt-chat"


def wait_idle(page, timeout_s: float = 60) -> None:
    """Until no action is running: the status line is empty and no code block spins."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = page.locator("#mt-status").inner_text().strip()
        if not status and page.locator(f"{CHAT} .pending, {CHAT} [aria-busy=true]").count() == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"the page stayed busy: {page.locator('#mt-status').inner_text()!r}")


def chat_text(page) -> str:
    return page.locator(CHAT).inner_text()


def start(page, question: str, mode_label: str | None = None) -> None:
    if mode_label:
        page.locator("#mt-mode").get_by_text(mode_label).click()
    page.locator("#mt-question textarea").fill(question)
    page.locator("#mt-start").click()


def start_tutoring(page) -> None:
    """A new tutoring session on PROBLEM, once the tutor's opening message is in."""
    page.locator("#mt-new").click()
    # New empties the question box when its answer arrives: type only after that
    page.wait_for_function("!document.querySelector('#mt-chat').innerText.includes('Solve for x')")
    start(page, PROBLEM, "Tutor me (hints)")
    page.wait_for_function("document.querySelector('#mt-chat').innerText.includes('work on this together')",
                           timeout=60_000)
    wait_idle(page)


def test_student_solves_gets_hints_checks_answers_and_resumes(web_factory, browser_page):
    web = web_factory(delay_s=0.004)
    web.user("ada", solve=True)
    page = browser_page
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url)
            if not req.url.startswith((web.url, "data:", "blob:")) else None)

    browser_sign_in(page, web.url, "ada")
    assert page.url.rstrip("/").endswith("/tutor")
    page.wait_for_selector("#mt-user >> text=Signed in as")

    # --- solve mode: streamed text with rendered math and a run-code block ---------------------------
    start(page, PROBLEM, "Solve it for me")
    lengths = set()
    deadline = time.monotonic() + 60
    while "the answer is" not in chat_text(page) and time.monotonic() < deadline:
        lengths.add(len(chat_text(page)))
        time.sleep(0.05)
    wait_idle(page)
    assert len(lengths) >= 3, "the reply should arrive piece by piece"
    assert page.locator(f"{CHAT} .katex").count() >= 3          # $x$, $2x = 14$, $$x = 14/2$$, boxed
    assert page.locator(f"{CHAT} .katex-display").count() >= 1  # the $$…$$ block
    text = chat_text(page)
    assert "ran code" in text
    code = page.locator(f"{CHAT} pre.mt-code").first
    output = page.locator(f"{CHAT} pre.mt-output").first
    toggle = page.locator(CHAT).get_by_text("ran code").first
    if code.is_visible():        # the block is collapsible: closing hides the code, opening shows it again
        toggle.click()
        code.wait_for(state="hidden")
    toggle.click()
    code.wait_for(state="visible")
    assert "print(solve(2*x + 3 - 17, x))" in code.inner_text()
    assert output.inner_text().strip() == "[7]"                 # really run in a kernel
    screenshot(page, "1-solve-mode")

    # --- tutoring mode: two hints, rung advances ---------------------------------------------------------
    start_tutoring(page)
    page.locator("#mt-hint").click()
    page.wait_for_selector("#mt-rung >> text=rung 1 of 4")
    wait_idle(page)
    assert "What operation is being done to" in chat_text(page)
    page.locator("#mt-hint").click()
    page.wait_for_selector("#mt-rung >> text=rung 2 of 4")
    wait_idle(page)
    assert "Use inverse operations" in chat_text(page)
    screenshot(page, "2-hints")

    # --- a wrong, then a right answer ----------------------------------------------------------------------
    page.locator("#mt-attempt textarea").fill("x = 5")
    page.locator("#mt-check").click()
    page.wait_for_selector("#mt-verdict >> text=Not yet")
    wait_idle(page)
    assert page.locator("#mt-attempt textarea").input_value() == ""
    page.locator("#mt-attempt textarea").fill("x = 7")
    page.locator("#mt-check").click()
    page.wait_for_selector("#mt-verdict >> text=Correct")
    wait_idle(page)
    text = chat_text(page)
    assert "Not yet" in text and "Correct" in text
    screenshot(page, "3-verdicts")

    # --- reload: both sessions listed; resume the tutoring one --------------------------------------------
    page.reload()
    page.wait_for_selector("#mt-user >> text=Signed in as")
    history = page.locator("#mt-history")
    labels = history.inner_text()
    assert labels.count(PROBLEM[:20]) == 2
    assert "solved" in labels and "solve" in labels
    assert "rung" not in page.locator("#mt-rung").inner_text()     # a fresh page shows no session
    history.get_by_text(re.compile(r"· solved")).click()
    page.wait_for_selector(f"{CHAT} >> text=Use inverse operations")
    text = chat_text(page)
    for expected in ("What operation is being done to", "x = 5", "Not yet", "x = 7", "Correct"):
        assert expected in text
    assert "rung 2 of 4" in page.locator("#mt-rung").inner_text()
    screenshot(page, "4-resumed")

    # nothing the page loaded came from outside this server: KaTeX, fonts and scripts are bundled
    assert outside == []


def test_running_code_is_visible_and_a_class_may_allow_the_worked_step(web_factory, browser_page):
    from tests.fixtures.web import TutorScript
    slow = ("Let me compute.\n```python\nimport time\ntime.sleep(3)\nprint(14 // 2)\n```\n```output\n7\n```\n"
            "So $x = \\boxed{7}$.")
    web = web_factory(script=TutorScript(solve=slow))
    web.user("ada", solve=True, skip=True)
    page = browser_page
    browser_sign_in(page, web.url, "ada")
    page.wait_for_selector("#mt-user >> text=Signed in as")
    start(page, PROBLEM, "Solve it for me")
    page.wait_for_selector("#mt-status >> text=Running code")
    assert "running code" in chat_text(page).lower()          # the block itself says so while it runs
    screenshot(page, "running-code")
    wait_idle(page)
    assert "So x = 7" in chat_text(page).replace("\n", " ") or page.locator(f"{CHAT} .katex").count() >= 1
    # tutoring mode in a class that allows skipping: the worked step at once (rung 4)
    start_tutoring(page)
    page.locator("#mt-skip").click()
    page.wait_for_selector("#mt-chat >> text=Subtracting 3 from both sides")
    wait_idle(page)
    assert "rung 4 of 4" in chat_text(page)
