"""Resolving a flag on a session: by a teacher of the learner's class (through that class) or by an admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutor.errors import BadInput
from tutor.school.access import Actor, audit, require_admin, require_flag

if TYPE_CHECKING:
    from tutor.store import FlagRecord, Store

MAX_RESOLUTION_CHARS = 2000


def resolve_flag(store: Store, actor: Actor, flag_id: int, resolution: str = "", *,
                 class_id: Any = None) -> FlagRecord:
    """`class_id` is the class the flag is reached through (the teacher page); without one, only an
    admin may resolve it (the command line)."""
    if class_id is not None:
        flag = require_flag(store, actor, class_id, flag_id)
    else:
        require_admin(actor)
        flag = store.get_flag(flag_id)
    if flag.resolved_at is not None:
        raise BadInput(f"flag #{flag.id} is already resolved")
    text = (resolution or "").strip()
    if len(text) > MAX_RESOLUTION_CHARS:
        raise BadInput(f"a resolution is at most {MAX_RESOLUTION_CHARS} characters")
    done = store.resolve_flag(flag.id, resolved_by=actor.id, resolution=text)
    audit(store, actor, "flag.resolve", target_type="session", target_id=flag.session_id,
          label=f"session #{flag.session_id}", flag_id=flag.id, resolution=text)
    return done
