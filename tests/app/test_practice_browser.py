"""Practice in real headless Chromium: from a solved problem to the next one the policy chose, with
why; the progress box; and a mastered skill back for review once its day has come (fake clock)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.fixtures.web import PROBLEM, browser_sign_in, screenshot
from tutor.practice.policy import to_master
from tutor.practice.service import PracticeService

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAT = "#mt-chat"
SECOND = "Practice: find x when 2x + 3 = 17."
REVIEW = "Review with fractions: find x when 2x + 3 = 17."


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


def wait_idle(page, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not page.locator("#mt-status").inner_text().strip() and \
                page.locator(f"{CHAT} .pending, {CHAT} [aria-busy=true]").count() == 0:
            return
        time.sleep(0.2)
    raise AssertionError("the page stayed busy")


def next_problem(page, expect_text: str) -> str:
    page.locator("#mt-next").click()
    page.wait_for_function(f"document.querySelector('#mt-chat').innerText.includes({expect_text[:25]!r})",
                           timeout=60_000)
    page.wait_for_function("document.querySelector('#mt-chat').innerText.includes('work on this together')",
                           timeout=60_000)
    wait_idle(page)
    return page.locator("#mt-why").inner_text()


def test_student_goes_from_a_solved_problem_to_the_next_chosen_one_and_sees_why(web_factory, browser_page):
    web = web_factory()
    student = web.user("ada")
    teacher = web.user("tess", "teacher")
    cls = web.store.list_classes(student_id=student.id)[0]
    web.store.add_teacher(cls.id, teacher.id)
    clock = FakeClock()
    practice = PracticeService(web.service.settings, web.store, clock=clock)
    web.ctx.practice = practice
    first = practice.add_problem(teacher, cls.id, PROBLEM, answer="7", skill="algebra", difficulty=1)
    practice.add_problem(teacher, cls.id, SECOND, answer="7", skill="algebra", difficulty=2)
    practice.add_problem(teacher, cls.id, REVIEW, answer="7", skill="fractions", difficulty=3)
    p = practice.defaults
    web.store.update_mastery(student.id, "fractions", 0.8, correct=True, cause="manual",
                             params=(p.p_init, p.p_learn, p.p_guess, p.p_slip))

    page = browser_page
    browser_sign_in(page, web.url, "ada")
    page.wait_for_selector("#mt-user >> text=Signed in as")

    # the weakest skill first, at the easiest problem, and the page says why
    why = next_problem(page, PROBLEM)
    assert f"You're practising algebra: {to_master(p.p_init, p)} more to master" in why
    page.locator("#mt-attempt textarea").fill("x = 7")
    page.locator("#mt-check").click()
    page.wait_for_selector("#mt-verdict >> text=Correct")
    wait_idle(page)
    assert web.store.solved_problem_ids(student.id) == {first.problem_id}
    screenshot(page, "1-solved")

    # fractions is mastered meanwhile: it gets a review date; the next problem is not the solved one
    web.store.update_mastery(student.id, "fractions", 0.97, correct=True, cause="manual",
                             params=(p.p_init, p.p_learn, p.p_guess, p.p_slip))
    algebra = web.store.get_mastery(student.id, "algebra").p_known
    why = next_problem(page, SECOND)
    assert f"You're practising algebra: {to_master(algebra, p)} more to master" in why
    assert to_master(algebra, p) < to_master(p.p_init, p)
    page.get_by_text("Your progress").click()
    progress = page.locator("#mt-progress").inner_text()
    assert "1 problem solved" in progress and "algebra" in progress and "fractions" in progress
    assert "mastered" in progress and "No reviews due" in progress
    screenshot(page, "2-next-and-why")

    # a day later fractions comes back for review
    clock.now += dt.timedelta(days=1, minutes=1)
    why = next_problem(page, REVIEW)
    assert why.startswith("Why this problem: Review: you mastered fractions")
    screenshot(page, "3-review")
