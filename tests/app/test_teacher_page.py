"""The teacher page's handlers, called in-process as Gradio calls them (the user comes from gr.Request):
sorting the roster, opening a session from a flag, previewing dataset rows, what the page shows a
teacher with no class."""

from __future__ import annotations

import gradio as gr
import pytest

from tests.fixtures.pages import DATA_DIR, gradio_blocks

pytestmark = pytest.mark.slow


@pytest.fixture
def page(school):
    fns = {fn.name: fn.fn for fn in gradio_blocks(school.web, "/teacher").fns.values()}
    tess = gr.Request(username=str(school.teacher.id))
    return fns, tess


def _values(out):
    return {getattr(k, "elem_id", None) or type(k).__name__: v for k, v in out.items()}


def test_roster_sorts_by_any_column_both_ways(school, page):
    fns, tess = page
    # a second learner with no sessions, so the order is visible
    quiet = school.web.store.create_user("quinn", "student", display_name="Quinn Quiet")
    school.web.store.enroll(school.class_a.id, quiet.id)
    for column, desc, first in [("sessions", True, "Sam Student"), ("sessions", False, "Quinn Quiet"),
                                ("student", False, "Quinn Quiet"), ("student", True, "Sam Student"),
                                ("first-try correct %", True, "Sam Student")]:
        out = _values(fns["on_sort"](school.class_a.id, column, desc, tess))
        frame = out["tt-roster"]
        assert frame.iloc[0]["student"] == first, (column, desc)
        assert len(frame) == 2


def test_a_click_on_a_flag_opens_its_session(school, page):
    fns, tess = page
    flag = school.web.store.raise_flag(school.session_id, "hint_replaced", note="gave it away", source="system")
    evt = gr.SelectData(None, {"index": [0, 1], "value": school.session_id, "row_value": [flag.id, school.session_id]})
    out = _values(fns["on_flag_row"](school.class_a.id, evt, tess))
    assert out["tt-tabs"].selected == "sessions"
    assert "hint_replaced — gave it away (open)" in out["tt-facts"]
    assert any("ran code" in m["content"] for m in out["tt-transcript"])


def test_preview_shows_dataset_rows_with_answers(school, page):
    fns, tess = page
    out = _values(fns["on_preview"](school.class_a.id, f"{DATA_DIR}/gsm8k_test.jsonl", "2", tess))
    assert out["tt-preview-text"].startswith("**Row 2.** A robe takes") and "*answer:* $3$" in out["tt-preview-text"]
    out = _values(fns["on_preview"](school.class_a.id, "/etc/passwd", "1", tess))
    assert list(out) == ["tt-notice"] and "only files inside the dataset folders" in out["tt-notice"]


def test_a_teacher_without_classes_is_told_so(school, page):
    fns, _ = page
    loner = school.web.store.create_user("lone", "teacher")
    out = _values(fns["on_load"](gr.Request(username=str(loner.id))))
    assert "do not teach any class yet" in out["tt-notice"]
    assert out["tt-class"]["choices"] == []
