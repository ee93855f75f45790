"""Store errors, in the tutor.errors family so app/ maps them to messages in one place."""

from __future__ import annotations

from tutor.errors import BadInput, NotFound, TutorError

__all__ = ["AlreadyExists", "BadInput", "NotFound", "StoreUnavailable", "SchemaOutOfDate"]


class AlreadyExists(BadInput):
    """A user or class name that is taken, an enrolment that exists."""
    code = "already_exists"
    status = 409


class StoreUnavailable(TutorError):
    """The database cannot be reached or stayed busy past the retry deadline."""
    code = "store_unavailable"
    status = 503


class SchemaOutOfDate(TutorError):
    """The database is not at the migrations' head: run `mathtutor db upgrade`."""
    code = "schema_out_of_date"
    status = 503
