"""The pages as people use them, in real headless Chromium: axe-core (WCAG 2 A/AA) finds no serious or
critical violation on the student, teacher and admin pages, signed in with a session open; every
control has an accessible name; the student flow works from the keyboard alone and on a phone
(390x844, the conversation first). Screenshots of each page, desktop and phone, go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.a11y import axe_violations, describe, unnamed_controls
from tests.fixtures.web import PROBLEM, browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u26FF\u2705\u274C]")


def assert_accessible(page, where: str) -> None:
    bad = axe_violations(page)
    assert not bad, f"{where}: axe-core found serious/critical WCAG 2 A/AA violations:\n{describe(bad)}"
    unnamed = unnamed_controls(page)
    assert not unnamed, f"{where}: controls without an accessible name:\n{describe(unnamed)}"


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_function("() => !document.querySelector('#mt-status').innerText.trim()", timeout=timeout_ms)


def tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the focus is inside `selector`: what a keyboard user does to get there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && !!document.activeElement.closest(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_student_page_by_keyboard_accessible_with_a_session_open(web_factory, browser_page):
    web = web_factory()
    web.user("ada", solve=True)
    page = browser_page
    browser_sign_in(page, web.url, "ada")
    page.wait_for_selector("#mt-user >> text=Signed in as")
    # the limit is said before anything is refused
    expect(page.locator("#mt-question")).to_contain_text("Up to 4,000 characters")

    # start, from the keyboard: Tab to the question, type, Tab to Start, Enter
    tab_to(page, "#mt-question")
    page.keyboard.type("Solve for x: 2x + 3 = 17. Hint: x^2 is not needed")
    expect(page.locator("#mt-qpreview .katex").first).to_be_visible()     # the live preview renders x^2
    page.keyboard.press("Control+A")
    page.keyboard.type(PROBLEM)
    tab_to(page, "#mt-start")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#mt-chat').innerText.includes('work on this together')",
                           timeout=60_000)
    wait_idle(page)
    assert_accessible(page, "student page, session open")

    # a hint, from the keyboard
    tab_to(page, "#mt-hint")
    page.keyboard.press("Enter")
    page.wait_for_selector("#mt-rung >> text=rung 1 of 4")
    wait_idle(page)

    # an answer with a live KaTeX preview of what the tutor reads, then Check
    tab_to(page, "#mt-attempt")
    page.keyboard.type("\\frac{14}{2}")
    preview = page.locator("#mt-preview")
    expect(preview).to_contain_text("The tutor reads")
    expect(preview.locator(".katex .mfrac")).to_have_count(1)           # a fraction, not backslash text
    page.keyboard.press("Control+A")
    page.keyboard.type("x = 5")
    tab_to(page, "#mt-check")
    page.keyboard.press("Enter")
    page.wait_for_selector("#mt-verdict >> text=Not yet.")
    wait_idle(page)
    verdict = page.locator("#mt-verdict")
    box = verdict.bounding_box()
    assert box is not None and box["width"] > 400, "the verdict reads in a full-width line, not a narrow column"
    assert re.match(r"^✗ Not yet\. \S", verdict.inner_text().strip()), verdict.inner_text()
    assert page.locator("#mt-attempt textarea").input_value() == ""
    expect(preview).to_have_text("")                                    # the preview went with the text
    # the chat offers no trash button that would blank the conversation on screen
    assert page.locator("#mt-chat button[aria-label='Clear'], #mt-chat button[title='Clear']").filter(
        visible=True).count() == 0
    assert_accessible(page, "student page after a hint and a verdict")
    screenshot(page, "student-desktop")

    # a solve session: no hint or check controls; opening it from history keeps its mode
    page.locator("#mt-new").click()
    page.wait_for_function("!document.querySelector('#mt-chat').innerText.includes('Solve for x')")
    page.locator("#mt-mode").get_by_text("Solve it for me").click()
    page.locator("#mt-question textarea").fill(PROBLEM)
    page.locator("#mt-start").click()
    page.wait_for_function("document.querySelector('#mt-chat').innerText.includes('the answer is')", timeout=60_000)
    wait_idle(page)
    expect(page.locator("#mt-hint")).to_be_hidden()
    expect(page.locator("#mt-check")).to_be_hidden()
    expect(page.locator("#mt-solve-note")).to_be_visible()

    # history: dated, with status, searchable; opened from the keyboard
    page.reload()
    page.wait_for_selector("#mt-user >> text=Signed in as")
    history = page.locator("#mt-history")
    labels = history.inner_text()
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d", labels), labels       # a date and time
    assert "in progress · solve" in labels and "in progress" in labels
    search = page.locator("#mt-history-search textarea")
    search.click()
    page.keyboard.type("nothing like this")
    expect(page.locator("#mt-history-note")).to_contain_text("No session matches")
    search.fill("")
    search.click()
    page.keyboard.type("solve for")
    expect(page.locator("#mt-history-note")).to_contain_text("2 sessions found")
    tab_to(page, "#mt-history")
    page.keyboard.press("Space")              # the newest: the solve session
    page.wait_for_function("document.querySelector('#mt-chat').innerText.includes('the answer is')")
    expect(page.locator("#mt-mode input[value='solve']")).to_be_checked()
    expect(page.locator("#mt-hint")).to_be_hidden()
    page.locator("#mt-history input[type=radio]").nth(1).focus()   # the next one: the tutoring session
    page.keyboard.press("Space")
    page.wait_for_selector("#mt-rung >> text=rung 1 of 4")
    expect(page.locator("#mt-mode input[value='tutor']")).to_be_checked()
    expect(page.locator("#mt-hint")).to_be_visible()
    assert_accessible(page, "student page, session reopened")

    # too long: refused with the limit said
    page.locator("#mt-question textarea").fill("x" * 4001)
    page.locator("#mt-start").click()
    expect(page.locator("#mt-notice")).to_contain_text("the limit is 4,000 characters")


def test_student_flow_on_a_phone(web_factory, chromium):
    web = web_factory()
    web.user("ada")
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page._test_name = "test_student_flow_on_a_phone"  # type: ignore[attr-defined]
    try:
        browser_sign_in(page, web.url, "ada")
        page.wait_for_selector("#mt-user >> text=Signed in as")
        chat, ask = page.locator("#mt-chat").bounding_box(), page.locator("#mt-msg").bounding_box()
        side = page.locator("#mt-side").bounding_box()
        assert chat["y"] < 400, f"the conversation starts {chat['y']:.0f} px down a phone's page"
        assert ask["y"] + ask["height"] < 1.5 * PHONE["height"], "the message box is near the top"
        assert side["y"] > chat["y"] + chat["height"], "new problem and history come after the conversation"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, "no sideways scrolling"
        # the first message starts a problem; then a hint and an answer, all with a thumb
        page.locator("#mt-msg textarea").fill(PROBLEM)
        page.locator("#mt-send").tap()
        page.wait_for_function("document.querySelector('#mt-chat').innerText.includes('work on this together')",
                               timeout=60_000)
        wait_idle(page)
        page.locator("#mt-hint").tap()
        page.wait_for_selector("#mt-rung >> text=rung 1 of 4")
        wait_idle(page)
        page.locator("#mt-attempt textarea").fill("x = 7")
        page.locator("#mt-check").tap()
        page.wait_for_selector("#mt-verdict >> text=Correct")
        wait_idle(page)
        page.evaluate("window.scrollTo(0, 0)")
        assert_accessible(page, "student page on a phone")
        screenshot(page, "student-phone")
    finally:
        context.close()


def test_teacher_and_admin_pages_accessible_on_desktop_and_phone(school, browser_page):
    page, web = browser_page, school.web
    # the system raises the same kind of flag on one session again and again: one open flag
    for i in range(9):
        web.store.raise_flag(school.session_id, "hint_replaced", source="system", note=f"hint {i} gave it away")
    web.store.raise_flag(school.session_id, "note", note="Talk to Sam about isolating x. " * 6,
                         raised_by=school.teacher.id)
    browser_sign_in(page, web.url, "tess", next_path="/teacher/")
    page.get_by_text("Signed in as").wait_for()
    expect(page.locator("#tt-roster")).to_contain_text("Sam Student")
    page.locator("#tt-mastery").wait_for()
    page.wait_for_timeout(500)    # the chart draws after its data arrives
    assert_accessible(page, "teacher overview")
    header = page.locator("#tt-roster th").first
    assert header.evaluate("e => getComputedStyle(e.querySelector('*') || e).whiteSpace") == "nowrap"
    screenshot(page, "teacher-overview-desktop")

    page.get_by_role("tab", name="Sessions").click()
    page.locator("#tt-sessions span", has_text="Sam Student").first.click()
    expect(page.locator("#tt-transcript")).to_contain_text("ran code #1")
    expect(page.locator("#tt-facts")).to_contain_text("verified by executed code")
    facts = page.locator("#tt-facts").inner_text()
    assert "verified by executed code" in facts and "NOT verified" not in facts
    assert not EMOJI.search(facts + page.locator("#tt-transcript").inner_text())
    assert "{" not in page.locator("#tt-transcript").inner_text().replace("\\frac{", "")   # no raw guard JSON
    assert_accessible(page, "teacher session review")
    screenshot(page, "teacher-session-desktop")

    page.get_by_role("tab", name="Flags").click()
    flags = page.locator("#tt-flags")
    expect(flags).to_contain_text("teacher's note")
    text = flags.inner_text()
    assert text.count("hint replaced by the guard") == 2          # nine raises: one row (and the summary's count)
    assert "1 hint replaced by the guard" in text
    assert text.index("teacher's note") < text.index("hint replaced")   # teachers' flags first
    assert "Open flags: 1 teacher's note" in page.locator("#tt-tab-flags").inner_text()
    assert_accessible(page, "teacher flags")
    screenshot(page, "teacher-flags-desktop")
    assert not EMOJI.search(page.locator("body").inner_text())

    page.get_by_role("tab", name="Assign").click()
    page.locator("#tt-source").get_by_text("Pick from a dataset file").click()
    page.locator("#tt-dataset input").click()
    options = page.get_by_role("option").all_inner_texts()
    assert options and all(not o.startswith("/") and "/work" not in o for o in options), options   # no server paths
    page.keyboard.press("Escape")

    page.set_viewport_size(PHONE)
    page.get_by_role("tab", name="Overview").click()
    assert_accessible(page, "teacher page on a phone")
    screenshot(page, "teacher-phone")

    page.set_viewport_size({"width": 1360, "height": 1000})
    page.context.clear_cookies()
    browser_sign_in(page, web.url, "adam", next_path="/admin/")
    expect(page.locator("#ad-users")).to_contain_text("adam")
    assert_accessible(page, "admin users")
    screenshot(page, "admin-desktop")
    page.get_by_role("tab", name="Classes").click()
    page.locator("#ad-pick-class input").click()
    page.get_by_role("option", name="Algebra A").first.click()
    members = page.locator("#ad-members")
    expect(members).to_contain_text("Sam Student")          # who is in the class, not just a count
    expect(members).to_contain_text("tess")
    assert "Sue Student" not in members.inner_text()
    assert_accessible(page, "admin class members")
    screenshot(page, "admin-class-desktop")
    page.get_by_role("tab", name="Service status").click()
    status = page.locator("#tab-status, [id*=status]").first
    page.wait_for_timeout(800)
    body = page.locator("body").inner_text()
    assert "deepseek" not in body.lower(), "a scripted backend is not reported as the configured 7B model"
    assert not EMOJI.search(body)
    assert_accessible(page, "admin status")
    screenshot(page, "admin-status-desktop")
    page.set_viewport_size(PHONE)
    assert_accessible(page, "admin page on a phone")
    screenshot(page, "admin-phone")
    assert status is not None
