"""The one place where error codes (tutor.errors classes and ErrorEvent.code) become words for users.

Pages and the JSON API both call `friendly()`, so a student sees the same sentence wherever the
error came from. Messages promise what is true: nothing typed or recorded is lost.
"""

from __future__ import annotations

_TEXT: dict[str, str] = {
    "backend_unavailable": "The tutor's model is not answering right now. Your question and your work are "
                           "saved — please try again in a minute.",
    "sandbox_busy": "The tutor's calculator is busy with other students. Your work is saved — please try "
                    "again in a few seconds.",
    "sandbox_error": "The tutor's calculator stopped working on this step. Your work is saved — please ask "
                     "again; a fresh calculator will be used.",
    "already_exists": "That already exists.",
    "backup_failed": "The backup could not be made; nothing was changed. `mathtutor backup` on the server "
                     "says why.",
    "schema_out_of_date": "The tutor is being updated. Please try again in a few minutes.",
    "sandbox_unsafe": "The tutor's calculator is switched off on this server: it cannot run code safely here. "
                      "Your work is saved — please tell your teacher (the admin page says what is wrong).",
    "too_long": "That is longer than the tutor can read at once. Please shorten it (or split it into steps) "
                "and send it again — your text is still in the box.",
    "unreadable": "The tutor could not read that. Check the math (matching brackets, one expression per "
                  "line) and send it again — your text is still in the box.",
    "bad_input": "The tutor could not use that input. Please check it and send it again — your text is "
                 "still in the box.",
    "empty": "Please type something first.",
    "context_full": "This conversation has become too long for the tutor to keep in mind. Start a new "
                    "problem to continue; this session stays in your history.",
    "rate_limited": "You are going a little fast. Wait a few seconds and try again.",
    "not_found": "That session does not exist or is not yours.",
    "forbidden": "You are not allowed to do that.",
    "mode_not_allowed": "Your class does not allow that mode. Tutoring mode is available.",
    "no_session": "Start a problem first: type a question or pick an assigned problem.",
    "cancelled": "Stopped. You can ask again or ask for a hint.",
    "stopping": "Stopping…",
    "nothing_to_stop": "Nothing is running, so there is nothing to stop.",
    "queue_full": "The tutor is very busy right now. Please try again in a minute; nothing was lost.",
    "busy": "The tutor is still answering your previous message. Wait for it or press Stop.",
    "interrupted": "This session was interrupted when the server restarted. You can carry on from here.",
    "error": "Something went wrong on our side. Your work is saved — please try again.",
    "internal_error": "Something went wrong on our side. Your work is saved — please try again.",
    "store_unavailable": "The tutor cannot reach its records right now. Please try again in a minute; "
                         "nothing you already sent is lost.",
    "login_required": "Please sign in.",
    "csrf": "This page is out of date. Reload it and try again.",
}

# Codes whose message (written by tutor/ for users) says something specific worth adding.
_DETAILED = {"bad_input", "forbidden", "too_long", "unreadable", "mode_not_allowed"}


def friendly(code: str, detail: str | None = None) -> str:
    """User text for an error code; unknown codes get the generic sentence, never a stack trace.
    `detail` (an error's own message) is added only for codes whose messages are written for users."""
    text = _TEXT.get(code) or _TEXT["error"]
    if detail and code in _DETAILED:
        detail = detail.strip().rstrip(".")
        text = f"{text} ({detail[:300]}.)"
    return text


def known_codes() -> list[str]:
    return sorted(_TEXT)
