"""The admin page's Doctor tab shows the same report as `mathtutor doctor`, about this app's own store
and kernel pool (in headless Chromium; screenshot in test-artifacts/)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.web import PASSWORD, browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_admin_runs_the_doctor_from_the_admin_page(web_factory, browser_page):
    web = web_factory()
    web.store.create_user("adam", "admin", password=PASSWORD)
    page = browser_page
    browser_sign_in(page, web.url, "adam", next_path="/admin/")
    page.get_by_role("tab", name="Doctor").click()
    page.locator("#ad-doctor-run").click()
    report = page.locator("#ad-doctor")
    expect(report).to_contain_text("Overall", timeout=120_000)
    screenshot(page, "01-doctor")
    text = report.inner_text()
    # the running pool's self-check, the app's own store, and the scripted backend named for what it is
    assert "sandbox self-check" in text and "escape attempts refused" in text
    assert "reachable, writable, at migration" in text
    assert "no real model" in text and "MATHTUTOR_BACKEND=transformers" in text
