"""What the tutor will read, shown as the student types: the text as Markdown with math, rendered
in the browser by the KaTeX that Gradio bundles (nothing is fetched from elsewhere).

In the answer box every line is read as maths (`x^2`, `\\frac{3}{4}`), so each line is shown as math;
in the question box words and maths mix, so words that look like maths (they hold `\\`, `^`, `_` or
`=`) are shown as math and the rest as text. All of it goes through `render.prose`, which makes it inert."""

from __future__ import annotations

import re

from app.render import escape, prose

MAX_PREVIEW_CHARS = 4000
_DELIMITED = re.compile(r"\$|\\\(|\\\[")
_MATHY = re.compile(r"[\\^_=]")


def _as_math(text: str) -> str:
    body = text.strip().replace("$", "")
    return f"${body}$" if body else ""


def lines_preview(text: str, max_lines: int) -> str:
    """The answer box: one rendered line per submitted line."""
    lines = [ln for ln in (text or "")[:MAX_PREVIEW_CHARS].splitlines() if ln.strip()]
    if not lines:
        return ""
    shown = []
    for ln in lines[:max_lines]:
        shown.append(prose(ln) if _DELIMITED.search(ln) else escape(_as_math(ln)))
    more = f"\n\n(only the first {max_lines} lines are checked)" if len(lines) > max_lines else ""
    return "**The tutor reads:**\n\n" + "  \n".join(shown) + more


def text_preview(text: str) -> str:
    """The question and chat boxes: text with its maths rendered."""
    text = (text or "")[:MAX_PREVIEW_CHARS]
    if not text.strip() or not (_DELIMITED.search(text) or _MATHY.search(text)):
        return ""
    if not _DELIMITED.search(text):
        text = " ".join(_as_math(w) if _MATHY.search(w) else w for w in text.split(" "))
    return "**The tutor reads:** " + prose(text)


__all__ = ["lines_preview", "text_preview"]
