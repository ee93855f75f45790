"""Who is acting and what they may reach: the acting user every school operation takes, the role checks,
the teacher's access rules and the one form of audit entry.

The web pages act as the signed-in user (a `UserRecord`); the command line acts as `CLI_ACTOR`, an
operator with an admin's powers and no user row, whose audit entries name it `cli`. A teacher reaches
only the classes they teach and those classes' sessions (a learner in two classes shows each class only
the work started in it or on its assignments). A refusal there is NotFound,
exactly as for a thing that does not exist, so a teacher of another class learns nothing, not even that
an id is in use.

Audit details name people by user name (never by id), the same from the web and the command line, so
the log reads without a lookup and a learner's deletion can find and anonymise every mention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tutor.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from tutor.store import ClassRecord, FlagRecord, SessionRecord, Store


class Actor(Protocol):
    """Whoever performs an operation: a `UserRecord` from the web, or an `Operator`."""

    @property
    def id(self) -> int | None: ...

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class Operator:
    """Someone acting on the install itself rather than through an account (the command line)."""
    name: str
    id: None = None
    role: str = "admin"


CLI_ACTOR = Operator("cli")


def require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("only an admin may do this")


def audit(store: Store, actor: Actor, action: str, *, target_type: str, target_id: int | None, label: str = "",
          **details: Any) -> None:
    store.audit(action, actor_id=actor.id, actor_name=actor.name, target_type=target_type, target_id=target_id,
                target_label=label, details=details)


def classes_for(store: Store, actor: Actor) -> list[ClassRecord]:
    """The classes this user may review: those they teach; every class for an admin."""
    if actor.role == "admin":
        return store.list_classes()
    if actor.role == "teacher" and actor.id is not None:
        return store.list_classes(teacher_id=actor.id)
    return []


def require_class(store: Store, actor: Actor, class_id: Any) -> ClassRecord:
    """The class if this user may review it; NotFound otherwise."""
    try:
        cid = int(class_id)
    except (TypeError, ValueError):
        raise NotFound("choose a class first") from None
    if actor.role == "admin":
        return store.get_class(cid)
    if actor.role == "teacher" and actor.id is not None and store.teaches(actor.id, cid):
        return store.get_class(cid)
    raise NotFound("no such class")


def require_session(store: Store, actor: Actor, class_id: Any, session_id: Any) -> SessionRecord:
    """The session if it belongs to a class this user may review (started in it or on a problem assigned
    to it, by a learner enrolled in it: `store.class_has_session`); NotFound otherwise."""
    cls = require_class(store, actor, class_id)
    try:
        sid = int(session_id)
        record = store.get_session(sid)
    except (TypeError, ValueError, NotFound):
        raise NotFound("no such session") from None
    if not store.class_has_session(cls.id, record.id):
        raise NotFound("no such session")
    return record


def require_flag(store: Store, actor: Actor, class_id: Any, flag_id: Any) -> FlagRecord:
    try:
        flag = store.get_flag(int(flag_id))
    except (TypeError, ValueError, NotFound):
        raise NotFound("no such flag") from None
    require_session(store, actor, class_id, flag.session_id)
    return flag
