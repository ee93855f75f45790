"""Refusals on the teacher and admin pages: a TutorError a handler raises becomes one line in the
page's notice box instead of Gradio's error toast, so the teacher reads what to fix and the rest of
the page keeps what it shows."""

from __future__ import annotations

import functools
from typing import Any, Callable

from app.messages import friendly
from app.render import escape
from tutor.errors import TutorError

Handler = Callable[..., dict[Any, Any]]


def notice_for(exc: TutorError) -> str:
    """A refusal or bad input as one line for the page: our own messages for what the user can fix."""
    if exc.status < 500:
        return f"Not done: {escape(exc.message)}"
    return f"Not done: {escape(friendly(exc.code))}"


def notice_guard(notice: Any) -> Callable[[Handler], Handler]:
    """A decorator for a page's handlers: a refusal or a bad input becomes the `notice` component's
    text; nothing else is sent to the browser."""
    def guarded(fn: Handler) -> Handler:
        @functools.wraps(fn)  # Gradio reads the signature to pass gr.Request / gr.SelectData
        def run(*args: Any) -> dict[Any, Any]:
            try:
                return fn(*args)
            except TutorError as exc:
                return {notice: notice_for(exc)}
        return run
    return guarded
