"""The student page's pieces that need no browser: verdicts as sentences, the live math preview's
Markdown, and the history list (dated, with status, searchable, newest first)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from app.history import matching, session_label
from app.preview import lines_preview, text_preview
from app.render import verdict_sentence


def test_verdicts_read_as_plain_sentences():
    assert verdict_sentence("valid", "That step follows from what came before.") == \
        "✓ That step follows from what came before."
    assert verdict_sentence("invalid", "Line 2 does not follow from the line before. This calculation is not "
                                       "right: the two sides are not equal.", 2) == \
        "✗ Line 2 does not follow from the line before. This calculation is not right: the two sides are not equal."
    assert verdict_sentence("incorrect", "x = 5 does not satisfy the equation.") == \
        "✗ **Not yet.** x = 5 does not satisfy the equation."       # a variable is not capitalised
    assert verdict_sentence("incorrect", "check the sign.") == "✗ **Not yet.** Check the sign."
    assert verdict_sentence("correct", "Correct — well done!") == "✓ Correct — well done!"
    assert verdict_sentence("unchecked", "") == "• **Recorded, not checked.**"


def test_the_preview_shows_answer_lines_as_math_and_question_maths_inline():
    assert lines_preview("x^2 = 4\n\\frac{3}{4}\n\nx < 3", 20) == \
        "**The tutor reads:**\n\n$x^2 = 4$  \n$\\frac{3}{4}$  \n$x &lt; 3$"
    assert "(only the first 2 lines are checked)" in lines_preview("a\nb\nc", 2)
    assert lines_preview("  \n", 20) == ""
    assert text_preview("Solve x^2-5x+6=0 for x") == "**The tutor reads:** Solve $x^2-5x+6=0$ for x"
    assert text_preview("Solve $x^2=4$ please") == "**The tutor reads:** Solve $x^2=4$ please"
    assert text_preview("what is two plus two") == ""                 # nothing to render: no preview
    assert "&lt;script&gt;" in text_preview("x^2 <script>alert(1)</script>")   # inert, like the chat


def _s(i, title, *, solved=False, status="active", mode="tutor", day=1):
    at = dt.datetime(2026, 12, day, 9, 30)
    return SimpleNamespace(id=i, title=title, solved=solved, status=status, mode=mode, started_at=at,
                           last_activity_at=at, interrupted=status == "interrupted")


def test_history_is_dated_with_status_newest_first_and_searchable():
    sessions = [_s(1, "Solve 2x+3=17", solved=True, day=1), _s(2, "Area of a circle", mode="solve", day=3),
                _s(3, "Fractions " * 10, status="interrupted", day=2)]
    assert session_label(sessions[0]) == "1 Dec 2026, 09:30 · Solve 2x+3=17 · solved"
    assert session_label(sessions[1]).endswith("Area of a circle · in progress · solve")
    assert session_label(sessions[2]).endswith("… · interrupted") and len(session_label(sessions[2])) < 100
    choices, note = matching(sessions)
    assert [i for _, i in choices] == [2, 3, 1] and note == "3 sessions."
    assert [i for _, i in matching(sessions, "SOLVED")[0]] == [1]
    assert [i for _, i in matching(sessions, "3 dec")[0]] == [2]
    assert matching(sessions, "geometry") == ([], "No session matches “geometry”.")
    many = [_s(i, f"Problem {i}", day=1 + i % 28) for i in range(30)]
    choices, note = matching(many, limit=12)
    assert len(choices) == 12 and note == "Showing the newest 12 of 30: search to find older ones."
    assert matching([]) == ([], "No sessions yet: your problems will be listed here.")
