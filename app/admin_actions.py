"""What an admin changes: users (create, deactivate, reset password, change role) and classes (create,
assign teachers, enroll students one by one or from a CSV roster). Each action validates its input with
a clear message, writes through the store and records itself in the audit log; an admin cannot lock
themselves out (deactivate or demote their own account).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from app.teacher_actions import audit
from tutor.errors import BadInput
from tutor.school.roster import RosterResult, apply_roster, parse_roster

ROLES = ("student", "teacher", "admin")
USER_COLUMNS = ["id", "user", "display name", "role", "active", "last seen", "locked until"]
CLASS_COLUMNS = ["id", "class", "teachers", "students", "solve mode", "hint skipping"]
AUDIT_COLUMNS = ["when", "who", "action", "target", "details"]
ROSTER_COLUMNS = ["line", "user", "result", "password (shown once)"]


def _when(t: Any) -> str:
    return "" if t is None else f"{t:%Y-%m-%d %H:%M:%S}"


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadInput(f"choose a {what} first") from None


class AdminActions:
    def __init__(self, ctx: Any):
        self.store = ctx.store

    # --- users -------------------------------------------------------------------------------------------
    def users_frame(self) -> pd.DataFrame:
        rows = [[u.id, u.name, u.display_name, u.role, "yes" if u.active else "no", _when(u.last_seen_at),
                 _when(u.locked_until)] for u in self.store.list_users()]
        return pd.DataFrame(rows, columns=USER_COLUMNS)

    def user_choices(self, role: str | None = None) -> list[tuple[str, int]]:
        return [(f"{u.name} ({u.role}{'' if u.active else ', inactive'})", u.id)
                for u in self.store.list_users(role=role)]

    def create_user(self, actor: Any, name: str, display: str, role: str, password: str) -> Any:
        name = (name or "").strip()
        if role not in ROLES:
            raise BadInput("choose a role: student, teacher or admin")
        if not password:
            raise BadInput("give the new account a password (at least 8 characters)")
        user = self.store.create_user(name, role, password=password, display_name=(display or "").strip())
        audit(self.store, actor, "user.create", target_type="user", target_id=user.id, label=user.name, role=role)
        return user

    def set_active(self, actor: Any, user_id: Any, active: bool) -> Any:
        uid = _int(user_id, "user")
        if uid == actor.id and not active:
            raise BadInput("you cannot deactivate your own account")
        user = self.store.set_active(uid, active)
        audit(self.store, actor, "user.activate" if active else "user.deactivate", target_type="user",
              target_id=uid, label=user.name)
        return user

    def reset_password(self, actor: Any, user_id: Any, password: str) -> Any:
        uid = _int(user_id, "user")
        user = self.store.set_password(uid, password or "")
        audit(self.store, actor, "user.password", target_type="user", target_id=uid, label=user.name)
        return user

    def set_role(self, actor: Any, user_id: Any, role: str) -> Any:
        uid = _int(user_id, "user")
        if role not in ROLES:
            raise BadInput("choose a role: student, teacher or admin")
        if uid == actor.id and role != "admin":
            raise BadInput("you cannot take the admin role from your own account")
        before = self.store.get_user(uid)
        user = self.store.set_role(uid, role)
        audit(self.store, actor, "user.role", target_type="user", target_id=uid, label=user.name,
              before=before.role, after=role)
        return user

    # --- classes -----------------------------------------------------------------------------------------
    def classes_frame(self) -> pd.DataFrame:
        rows = []
        for c in self.store.list_classes():
            teachers = ", ".join(t.name for t in self.store.class_teachers(c.id))
            rows.append([c.id, c.name, teachers, len(self.store.class_students(c.id)),
                         "allowed" if c.allow_solve_mode else "no", "allowed" if c.allow_hint_skip else "no"])
        return pd.DataFrame(rows, columns=CLASS_COLUMNS)

    def class_choices(self) -> list[tuple[str, int]]:
        return [(c.name, c.id) for c in self.store.list_classes()]

    def _teacher_ids(self, ids: Any) -> list[int]:
        out = []
        for value in ids or []:
            user = self.store.get_user(_int(value, "teacher"))
            if user.role not in ("teacher", "admin"):
                raise BadInput(f"{user.name} is a {user.role}; only teachers and admins can teach a class")
            out.append(user.id)
        return out

    def create_class(self, actor: Any, name: str, teacher_ids: Any, solve: bool, skip: bool) -> Any:
        teachers = self._teacher_ids(teacher_ids)
        cls = self.store.create_class((name or "").strip(), teachers=teachers, allow_solve_mode=bool(solve),
                                      allow_hint_skip=bool(skip))
        audit(self.store, actor, "class.create", target_type="class", target_id=cls.id, label=cls.name,
              teachers=teachers, allow_solve_mode=bool(solve), allow_hint_skip=bool(skip))
        return cls

    def add_teachers(self, actor: Any, class_id: Any, teacher_ids: Any) -> Any:
        cls = self.store.get_class(_int(class_id, "class"))
        teachers = self._teacher_ids(teacher_ids)
        if not teachers:
            raise BadInput("choose at least one teacher")
        for tid in teachers:
            self.store.add_teacher(cls.id, tid)
        audit(self.store, actor, "class.teacher", target_type="class", target_id=cls.id, label=cls.name,
              teachers=teachers)
        return cls

    def enroll(self, actor: Any, class_id: Any, student_ids: Any) -> tuple[Any, int]:
        cls = self.store.get_class(_int(class_id, "class"))
        ids = [_int(v, "student") for v in student_ids or []]
        if not ids:
            raise BadInput("choose at least one student")
        new = sum(1 for uid in ids if self.store.enroll(cls.id, uid))
        audit(self.store, actor, "class.enroll", target_type="class", target_id=cls.id, label=cls.name,
              students=ids)
        return cls, new

    def roster(self, actor: Any, class_id: Any, file: Any) -> tuple[Any, list[RosterResult]]:
        cls = self.store.get_class(_int(class_id, "class"))
        if not file:
            raise BadInput("upload a CSV roster file first")
        path = Path(file if isinstance(file, str) else getattr(file, "name", ""))
        try:
            raw = path.read_bytes()
        except OSError:
            raise BadInput("the uploaded roster could not be read; upload it again") from None
        entries = parse_roster(raw)
        return cls, apply_roster(self.store, cls.id, entries, actor_id=actor.id)

    @staticmethod
    def roster_frame(results: list[RosterResult]) -> pd.DataFrame:
        return pd.DataFrame([[r.row, r.name, r.status, r.password or ""] for r in results], columns=ROSTER_COLUMNS)

    # --- audit -------------------------------------------------------------------------------------------
    def audit_frame(self, action: str = "", limit: int = 200) -> pd.DataFrame:
        entries = self.store.audit_log(limit=limit, action=(action or "").strip() or None)
        rows = []
        for e in entries:
            target = f"{e.target_type or ''} #{e.target_id} {e.target_label}".strip() if e.target_type else e.target_label
            details = ", ".join(f"{k}={v}" for k, v in (e.details or {}).items())
            rows.append([_when(e.at), e.actor_name or "(system)", e.action, target,
                         details if len(details) <= 200 else details[:197] + "…"])
        return pd.DataFrame(rows, columns=AUDIT_COLUMNS)
