"""The teacher's practice in headless Chromium: "who needs help now" on the overview, and the Practice
tab - template variants generated, previewed with how each answer was confirmed, approved; fixed order."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.data import GSM8K
from tests.fixtures.web import browser_sign_in, screenshot
from tutor.school.access import CLI_ACTOR

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def pick(page, dropdown_id: str, label: str) -> None:
    page.locator(f"#{dropdown_id} input").click()
    page.get_by_role("option", name=label).first.click()


def test_teacher_sees_who_needs_help_and_previews_and_approves_variants(web_factory, browser_page):
    from app.practice_panel import practice_of

    web = web_factory()
    teacher = web.user("tess", "teacher")
    stuck = web.user("sam", "student")
    cls = web.store.list_classes(student_id=stuck.id)[0]
    web.store.add_teacher(cls.id, teacher.id)
    fine = web.store.create_user("fay", "student", display_name="Fay")
    web.store.enroll(cls.id, fine.id)
    practice = practice_of(web.ctx)
    practice.load_dataset(CLI_ACTOR, cls.id, str(GSM8K), limit=12)
    session = web.store.create_session(stuck.id, question="Solve for x: 2x + 3 = 17.", class_id=cls.id)
    for wrong in ("x = 5", "x = 6", "x = 8"):
        web.store.record_attempt(session.id, kind="answer", input=wrong, verdict="incorrect")

    page = browser_page
    browser_sign_in(page, web.url, "tess", next_path="/teacher/")
    page.wait_for_selector("#tt-class")
    pick(page, "tt-class", cls.name)
    help_now = page.locator("#tt-help")
    expect(help_now).to_contain_text("stuck: 3 wrong tries")
    assert "Sam" in help_now.inner_text() and "Fay" not in help_now.inner_text()
    screenshot(page, "1-who-needs-help")

    page.get_by_role("tab", name="Practice").click()
    skills = sorted({i.skill for i in web.store.practice_items(cls.id)},
                    key=lambda s: -sum(i.skill == s for i in web.store.practice_items(cls.id)))
    pick(page, "tt-practice-skill", skills[0])
    page.locator("#tt-practice-generate").click()
    expect(page.locator("#tt-notice")).to_contain_text("confirmed variant")
    pending = web.store.practice_items(cls.id, status="pending")
    assert pending, page.locator("#tt-notice").inner_text()
    preview = page.locator("#tt-practice-pending")
    expect(preview).to_contain_text("by SymPy")
    assert web.store.get_problem(pending[0].problem_id).text[:30] in preview.inner_text()
    screenshot(page, "2-preview")

    pick(page, "tt-practice-approve-ids", f"#{pending[0].id}")
    page.locator("#tt-practice-approve").click()
    expect(page.locator("#tt-notice")).to_contain_text("Approved 1")
    assert web.store.practice_item(pending[0].id).status == "approved"

    page.get_by_text("Add your own practice problem").click()
    page.locator("#tt-practice-text textarea").fill("A pizza has 8 slices and Ann eats 3. What fraction is left?")
    page.locator("#tt-practice-answer textarea").fill("5/8")
    page.locator("#tt-practice-new-skill textarea").fill("fractions")
    page.locator("#tt-practice-add").click()
    expect(page.locator("#tt-notice")).to_contain_text("to the bank (fractions)")
    typed = [i for i in web.store.practice_items(cls.id) if i.origin == "teacher"]
    assert len(typed) == 1 and web.store.get_problem(typed[0].problem_id).reference_answer == "5/8"

    page.locator("#tt-practice-order").get_by_text("Fixed").click()
    page.locator("#tt-practice-save").click()
    expect(page.locator("#tt-notice")).to_contain_text("fixed order")
    assert web.store.practice_settings(cls.id).order_mode == "fixed"
