"""The small family of errors that decide what happens next.

An execution error inside a cell is not here: it goes back to the model as an observation.
Everything below ends the current action; `code` is stable (the UI maps it to friendly text in one
place) and `message` is safe to show to a user.
"""

from __future__ import annotations


class TutorError(Exception):
    code = "error"
    status = 500  # the HTTP status app/ uses when it surfaces this error

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadInput(TutorError):
    """The user's input cannot be used (too long, empty, not UTF-8, unreadable math)."""
    code = "bad_input"
    status = 400


class InputTooLong(BadInput):
    code = "too_long"
    status = 413


class NotFound(TutorError):
    code = "not_found"
    status = 404


class Forbidden(TutorError):
    code = "forbidden"
    status = 403


class RateLimited(TutorError):
    code = "rate_limited"
    status = 429


class BackendError(TutorError):
    """The model backend failed (server down, garbage reply, out of memory): the turn ends."""
    code = "backend_unavailable"
    status = 503


class SandboxUnavailable(TutorError):
    """No kernel could be had (pool full, session in cool-down): try again shortly."""
    code = "sandbox_busy"
    status = 503


class SandboxOff(SandboxUnavailable):
    """No usable sandbox on this server (an isolation layer missing, the self-check failed, no kernel can
    start): no code runs until an admin fixes it, so nobody is told it is merely busy."""
    code = "sandbox_unsafe"
