"""End to end in headless Chromium: an admin creates a teacher and a class, enrolls students from an
uploaded CSV roster, and a student created by the roster can sign in with the password shown once.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.fixtures.web import PASSWORD, browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def pick(page, dropdown_id: str, label: str) -> None:
    page.locator(f"#{dropdown_id} input").click()
    page.get_by_role("option", name=label).first.click()


def test_admin_creates_a_teacher_and_a_class_and_enrolls_a_roster(web_factory, browser_page, tmp_path):
    web = web_factory()
    store = web.store
    store.create_user("adam", "admin", password=PASSWORD, display_name="Adam Admin")
    store.create_user("sam", "student", password=PASSWORD)   # already has an account
    page = browser_page
    browser_sign_in(page, web.url, "adam", next_path="/admin/")
    expect(page.locator("#ad-users")).to_contain_text("adam")
    screenshot(page, "01-admin-users")

    page.locator("#ad-new-name textarea").fill("tina")
    page.locator("#ad-new-display textarea").fill("Tina Teacher")
    pick(page, "ad-new-role", "teacher")
    page.locator("#ad-new-password input").fill("tina-password-1")
    page.locator("#ad-create-user").click()
    expect(page.locator("#ad-notice")).to_contain_text("Created teacher tina")
    expect(page.locator("#ad-users")).to_contain_text("Tina Teacher")
    tina = store.user_by_name("tina")
    assert tina.role == "teacher" and store.login("tina", "tina-password-1").ok

    page.get_by_role("tab", name="Classes").click()
    page.locator("#ad-class-name textarea").fill("Physics P")
    pick(page, "ad-class-teachers", "tina (teacher)")
    page.locator("#ad-create-class").click()
    expect(page.locator("#ad-notice")).to_contain_text("Created class Physics P")
    cls = store.class_by_name("Physics P")
    assert [t.name for t in store.class_teachers(cls.id)] == ["tina"]

    roster = tmp_path / "physics-roster.csv"
    roster.write_text("username,display_name,password\nsam,,\nnia,Nia N,nia-password-1\nola,Ola O,\n", encoding="utf-8")
    pick(page, "ad-pick-class", "Physics P")
    with page.expect_file_chooser() as chooser:
        page.locator("#ad-roster-file").click()
    chooser.value.set_files(str(roster))
    expect(page.locator("#ad-roster-chosen")).to_contain_text("physics-roster.csv")
    page.locator("#ad-roster-btn").click()
    expect(page.locator("#ad-notice")).to_contain_text("Roster applied to Physics P: 3 students, 2 new account(s)")
    result = page.locator("#ad-roster-result")
    expect(result).to_contain_text("ola")
    screenshot(page, "02-roster-enrolled")
    assert {u.name for u in store.class_students(cls.id)} == {"sam", "nia", "ola"}
    from gradio.utils import get_upload_folder   # the uploaded roster (it has passwords) is not kept
    assert not list(Path(get_upload_folder()).rglob("physics-roster.csv"))
    # the generated password is shown once, in the result table, and it works
    cells = [c.strip() for c in result.inner_text().split("\n") if c.strip() and c.strip() != "\t"]
    ola = cells.index("ola")
    assert cells[ola + 1] == "created"
    shown = cells[ola + 2]
    assert store.login("ola", shown).ok
    expect(page.locator("#ad-classes")).to_contain_text("tina")

    page.get_by_role("tab", name="Audit log").click()
    audit = page.locator("#ad-audit")
    for action in ("user.create", "class.create", "class.roster"):
        expect(audit).to_contain_text(action)
    screenshot(page, "03-audit-log")
    page.get_by_role("tab", name="Service status").click()
    page.locator("#ad-status-refresh").click()
    status = page.locator("#ad-status")
    for part in ("Model backend", "scripted", "Sandbox", "self-check", "Store", "sqlite", "Recent errors"):
        expect(status).to_contain_text(part)
    screenshot(page, "04-service-status")

    # the new teacher sees the new class and its students on the teacher page
    context = page.context.browser.new_context(viewport={"width": 1360, "height": 1000})
    teacher_page = context.new_page()
    try:
        browser_sign_in(teacher_page, web.url, "tina", "tina-password-1", next_path="/teacher/")
        expect(teacher_page.locator("#tt-roster")).to_contain_text("Nia N")
        teacher_page._test_name = page._test_name  # type: ignore[attr-defined]
        screenshot(teacher_page, "05-new-teacher-sees-class")
    finally:
        context.close()
