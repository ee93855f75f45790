"""Flags on sessions (raised by a teacher or by the system, then resolved) and the audit log of
admin and teacher actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase, utcnow
from tutor.store.errors import BadInput, NotFound
from tutor.store.models import FLAG_SOURCES, AuditEntry, Flag, TutorSession, User
from tutor.store.records import AuditRecord, FlagRecord, to_record
from tutor.store.sessions import event_data, in_class


class FlagsMixin(StoreBase):
    def raise_flag(self, session_id: int, reason: str, *, note: str = "", source: str = "teacher",
                   raised_by: int | None = None) -> FlagRecord:
        """Flag a session. System flags use reasons such as sandbox_kill, hint_replaced,
        key_disagreement, key_unverified, interrupted; a teacher's flag has reason `note` and a note.
        A system flag whose kind is already open on the session is not raised again: the open one is
        returned (once resolved, a new one may be raised)."""
        if source not in FLAG_SOURCES:
            raise BadInput(f"flag source must be one of {', '.join(FLAG_SOURCES)}")
        if not reason or len(reason) > 64:
            raise BadInput("a flag needs a reason of 1-64 characters")
        if len(note) > 10000:
            raise BadInput("the note is longer than 10000 characters")

        def tx(s: Session) -> FlagRecord:
            if s.get(TutorSession, session_id) is None:
                raise NotFound(f"no session with id {session_id}")
            if source == "system":
                # One open system flag per session and kind: a guard that replaces nine hints is one
                # thing for a teacher to look at, not nine rows burying the teachers' own flags.
                same = s.scalars(select(Flag).where(Flag.session_id == session_id, Flag.source == "system",
                                                    Flag.reason == reason, Flag.resolved_at.is_(None))
                                 .order_by(Flag.id).limit(1)).first()
                if same is not None:
                    return to_record(FlagRecord, same)
            row = Flag(session_id=session_id, source=source, reason=reason, note=note, raised_by=raised_by,
                       created_at=utcnow())
            s.add(row)
            s.flush()
            return to_record(FlagRecord, row)
        return self._write(tx)

    def resolve_flag(self, flag_id: int, *, resolved_by: int | None, resolution: str = "") -> FlagRecord:
        def tx(s: Session) -> FlagRecord:
            row = s.get(Flag, flag_id)
            if row is None:
                raise NotFound(f"no flag with id {flag_id}")
            row.resolved_at, row.resolved_by, row.resolution = utcnow(), resolved_by, resolution
            s.flush()
            return to_record(FlagRecord, row)
        return self._write(tx)

    def get_flag(self, flag_id: int) -> FlagRecord:
        def tx(s: Session) -> FlagRecord:
            row = s.get(Flag, flag_id)
            if row is None:
                raise NotFound(f"no flag with id {flag_id}")
            return to_record(FlagRecord, row)
        return self._read(tx)

    def flags(self, *, session_id: int | None = None, class_id: int | None = None,
              open_only: bool = False) -> list[FlagRecord]:
        """Flags of one session, or of a class's sessions (`sessions.in_class`), oldest first."""
        def tx(s: Session) -> list[FlagRecord]:
            q = select(Flag)
            if session_id is not None:
                q = q.where(Flag.session_id == session_id)
            if class_id is not None:
                q = q.join(TutorSession, TutorSession.id == Flag.session_id).where(in_class(class_id))
            if open_only:
                q = q.where(Flag.resolved_at.is_(None))
            return [to_record(FlagRecord, r) for r in s.scalars(q.order_by(Flag.id))]
        return self._read(tx)

    def audit(self, action: str, *, actor_id: int | None = None, actor_name: str = "", target_type: str | None = None,
              target_id: int | None = None, target_label: str = "", details: dict[str, Any] | None = None) -> AuditRecord:
        """Record an admin or teacher action (e.g. `user.create`, `class.enroll`, `flag.raise`);
        `actor_name` names an actor that is not a user (the command line: `cli`)."""
        if not action or len(action) > 64:
            raise BadInput("an audit action is 1-64 characters")

        def tx(s: Session) -> AuditRecord:
            actor = s.get(User, actor_id) if actor_id is not None else None
            row = AuditEntry(at=utcnow(), actor_id=actor_id, actor_name=actor.name if actor else actor_name[:64],
                             action=action,
                             target_type=target_type, target_id=target_id, target_label=target_label[:256],
                             details=event_data(dict(details or {})))
            s.add(row)
            s.flush()
            return to_record(AuditRecord, row)
        return self._write(tx)

    def audit_log(self, *, limit: int = 200, actor_id: int | None = None, action: str | None = None) -> list[AuditRecord]:
        """Newest first."""
        def tx(s: Session) -> list[AuditRecord]:
            q = select(AuditEntry)
            if actor_id is not None:
                q = q.where(AuditEntry.actor_id == actor_id)
            if action is not None:
                q = q.where(AuditEntry.action == action)
            return [to_record(AuditRecord, r) for r in s.scalars(q.order_by(AuditEntry.id.desc()).limit(limit))]
        return self._read(tx)
