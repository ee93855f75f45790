"""End to end in headless Chromium: a teacher signs in, opens a class, opens a student's session that a
real tutoring run produced (scripted model, real kernels), sees the transcript with a code cell and a
hint, flags the session and downloads the CSV export. Screenshots go to test-artifacts/."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.fixtures.web import browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def pick(page, dropdown_id: str, label: str) -> None:
    page.locator(f"#{dropdown_id} input").click()
    page.get_by_role("option", name=label).first.click()


def test_teacher_reviews_flags_and_exports_a_session(school, browser_page):
    page, web = browser_page, school.web
    # a second class, so the teacher has to choose
    web.store.create_class("Calculus C", teachers=[school.teacher.id])
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    browser_sign_in(page, web.url, "tess", next_path="/teacher/")
    page.wait_for_selector("#tt-class")
    page.get_by_text("Signed in as").wait_for()
    pick(page, "tt-class", "Algebra A")
    roster = page.locator("#tt-roster")
    expect(roster).to_contain_text("Sam Student")
    page.locator("#tt-mastery").wait_for()
    expect(page.locator("#tt-struggles")).to_contain_text("x = 5")
    screenshot(page, "01-class-overview")

    page.get_by_role("tab", name="Sessions").click()
    page.locator("#tt-sessions span", has_text="Sam Student").first.click()
    chat = page.locator("#tt-transcript")
    expect(chat).to_contain_text("ran code")
    expect(chat).to_contain_text("rung 1 of 4")
    expect(chat).to_contain_text("Feedback shown: Correct")   # the last message: everything is rendered
    text = chat.inner_text()
    assert "solve(2*x + 3 - 17, x)" in text and "[7]" in text          # a code cell with its output
    assert "rung 1 of 4" in text and "What operation is being done" in text  # the hint with its rung
    assert "x = 5" in text and "incorrect" in text                       # the attempt and its verdict
    assert chat.locator(".katex").count() > 0                            # math rendered by the bundled KaTeX
    expect(chat.locator("pre.mt-code").first).to_be_visible()           # evidence on screen, not folded away
    expect(chat.locator("pre.mt-output").first).to_contain_text("[7]")
    facts = page.locator("#tt-facts").inner_text()
    assert "verified by executed code" in facts and "Sam Student" in facts
    screenshot(page, "02-session-transcript")

    page.locator("#tt-flag-note textarea").fill("Stuck on isolating x; talk to Sam on Monday.")
    page.locator("#tt-flag").click()
    expect(page.locator("#tt-notice")).to_contain_text("raised on session")
    flags = web.store.flags(session_id=school.session_id)
    assert [(f.source, f.note) for f in flags] == [("teacher", "Stuck on isolating x; talk to Sam on Monday.")]
    expect(page.locator("#tt-facts")).to_contain_text("talk to Sam on Monday")
    screenshot(page, "03-flagged")

    page.get_by_role("tab", name="Flags").click()
    # one line per cell: the note is cut (its whole text is in the session's facts panel, or a click away)
    expect(page.locator("#tt-flags")).to_contain_text("Stuck on isolating x; talk to Sam on Mon")
    expect(page.locator("#tt-flags")).to_contain_text("teacher's note")
    pick(page, "tt-flag-pick", f"#{flags[0].id} · session #{school.session_id} · teacher's note")
    page.locator("#tt-resolution textarea").fill("Talked it through.")
    page.locator("#tt-resolve").click()
    expect(page.locator("#tt-notice")).to_contain_text(f"Flag #{flags[0].id} resolved")
    assert web.store.get_flag(flags[0].id).resolution == "Talked it through."
    screenshot(page, "03b-flag-resolved")

    with page.expect_download() as info:
        page.locator("#tt-export-link").click()
    download = info.value
    body = open(download.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(body)))
    mine = [r for r in rows if r["session_id"] == str(school.session_id)]
    sessions = [r for r in mine if r["record"] == "session"]
    attempts = [r for r in mine if r["record"] == "attempt"]
    hints = [r for r in mine if r["record"] == "hint"]
    assert {r["learner"] for r in rows} == {"sam"}            # class A's student only
    assert [(r["learner"], r["problem"]) for r in sessions] == [("sam", "Solve for x: 2x + 3 = 17.")]
    assert [(r["input"], r["verdict"]) for r in attempts][0] == ("x = 5", "incorrect")
    assert len(attempts) == 2 and [(r["step"], r["level"]) for r in hints] == [("1", "1")]
    assert download.suggested_filename.endswith(".csv")
    assert any(e.action == "class.export" and e.actor_name == "tess" for e in web.store.audit_log())
    screenshot(page, "04-exported")
    # chart, KaTeX, fonts: everything came from our own server (works with no internet)
    foreign = [u for u in requested if not u.startswith((web.url, "data:", "blob:"))]
    assert requested and foreign == []


def test_a_script_in_student_and_model_text_is_shown_as_text(school, browser_page):
    page, web = browser_page, school.web
    store = web.store
    sid = store.create_session(school.student.id, question="<script>window.__owned=1</script> what is $1+1$?").id
    store.append_message(sid, '<img src=x onerror="window.__owned=2"> help', role="student")
    store.append(sid, {"kind": "round_text", "text": "Let me run <b>bold</b>\n```python\nprint('<script>x</script>')\n```",
                       "round": 0})
    store.append(sid, {"kind": "output", "code": "print('<script>x</script>')", "stdout": "<script>x</script>\n",
                       "stderr": "", "error": None, "timed_out": False, "restarted": False, "duration_s": 0.01,
                       "observation": "<script>x</script>", "round": 0})
    browser_sign_in(page, web.url, "tess", next_path="/teacher/")
    expect(page.locator("#tt-roster")).to_contain_text("Sam Student")
    page.get_by_role("tab", name="Sessions").click()
    page.locator("#tt-sessions span").get_by_text(str(sid), exact=True).first.click()
    chat = page.locator("#tt-transcript")
    expect(chat).to_contain_text("ran code")
    text = chat.inner_text()
    assert 'onerror="window.__owned=2"' in text
    facts = page.locator("#tt-facts")
    expect(facts).to_contain_text("<script>window.__owned=1</script>")   # the problem as typed
    assert facts.locator("script").count() == 0 and facts.locator(".katex").count() > 0
    assert "<b>bold</b>" in text and "<script>x</script>" in text
    assert chat.locator("img[src=x], script, [onerror]").count() == 0
    assert page.evaluate("window.__owned") is None
    screenshot(page, "inert-transcript")
