"""The student's list of earlier sessions: dated, with their status, newest first, searchable.

A class works through dozens of problems, so the page shows the newest few that match what the
student typed in the search box, and says how many more there are."""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

SHOWN = 12


def status_words(s: Any) -> str:
    status = getattr(s, "status", "")
    if status == "interrupted" or getattr(s, "interrupted", False):
        state = "interrupted"
    elif getattr(s, "solved", False):
        state = "solved"
    elif status == "finished":
        state = "finished"
    else:
        state = "in progress"
    return state + (" · solve" if getattr(s, "mode", "") == "solve" else "")


def when(s: Any) -> str:
    at = getattr(s, "last_activity_at", None) or getattr(s, "started_at", None)
    if not isinstance(at, dt.datetime):
        return ""
    return f"{at.day} {at:%b %Y, %H:%M}"


def session_label(s: Any) -> str:
    title = " ".join((getattr(s, "title", "") or getattr(s, "question", "") or "untitled").split())
    if len(title) > 60:
        title = title[:57] + "…"
    date = when(s)
    return f"{date + ' · ' if date else ''}{title} · {status_words(s)}"


def matching(sessions: Sequence[Any], query: str = "", limit: int = SHOWN) -> tuple[list[tuple[str, int]], str]:
    """(Radio choices, a line saying what is shown) for the sessions whose label contains `query` (any
    case, spaces collapsed): a phrase, so "3 Dec" finds that day and not every label with a 3 in it."""
    words = (query or "").lower().split()
    phrase = " ".join(words)
    hits = [s for s in sessions if phrase in " ".join(session_label(s).lower().split())]
    hits.sort(key=lambda s: getattr(s, "last_activity_at", None) or dt.datetime.min, reverse=True)
    shown = hits[:limit]
    if not sessions:
        note = "No sessions yet: your problems will be listed here."
    elif not hits:
        note = f"No session matches “{query.strip()}”."
    elif len(hits) > limit:
        note = f"Showing the newest {limit} of {len(hits)}: search to find older ones."
    else:
        note = f"{len(hits)} session{'s' if len(hits) != 1 else ''}" + (" found." if words else ".")
    return [(session_label(s), s.id) for s in shown], note


__all__ = ["matching", "session_label", "status_words", "SHOWN"]
