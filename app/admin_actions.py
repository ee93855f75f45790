"""The admin page's side of what an admin changes: users and classes (one by one or from a CSV roster)
go through the operations in tutor.school, which check the role and write the audit entry; this module
turns the page's widget values into their arguments and shapes the tables the page shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tutor.errors import BadInput
from tutor.school import classes, users
from tutor.school.roster import RosterResult, apply_roster, parse_roster
from tutor.school.users import ROLES

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


def _ints(values: Any, what: str) -> list[int]:
    return [_int(v, what) for v in values or []]


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
        if role in ROLES and not password:  # the page has no other way to give the account one later
            raise BadInput("give the new account a password (at least 8 characters)")
        return users.create_user(self.store, actor, name, role, password=password, display_name=display)

    def set_active(self, actor: Any, user_id: Any, active: bool) -> Any:
        return users.set_active(self.store, actor, _int(user_id, "user"), active)

    def reset_password(self, actor: Any, user_id: Any, password: str) -> Any:
        return users.set_password(self.store, actor, _int(user_id, "user"), password)

    def set_role(self, actor: Any, user_id: Any, role: str) -> Any:
        return users.set_role(self.store, actor, _int(user_id, "user"), role)

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

    def create_class(self, actor: Any, name: str, teacher_ids: Any, solve: bool, skip: bool) -> Any:
        return classes.create_class(self.store, actor, name, teacher_ids=_ints(teacher_ids, "teacher"),
                                    allow_solve_mode=bool(solve), allow_hint_skip=bool(skip))

    def add_teachers(self, actor: Any, class_id: Any, teacher_ids: Any) -> Any:
        return classes.add_teachers(self.store, actor, _int(class_id, "class"), _ints(teacher_ids, "teacher"))

    def enroll(self, actor: Any, class_id: Any, student_ids: Any) -> tuple[Any, int]:
        done = classes.enroll(self.store, actor, _int(class_id, "class"), _ints(student_ids, "student"))
        return done.cls, len(done.added)

    def roster(self, actor: Any, class_id: Any, file: Any) -> tuple[Any, list[RosterResult]]:
        cls = self.store.get_class(_int(class_id, "class"))
        if not file:
            raise BadInput("upload a CSV roster file first")
        path = Path(file if isinstance(file, str) else getattr(file, "name", ""))
        try:
            raw = path.read_bytes()
        except OSError:
            raise BadInput("the uploaded roster could not be read; upload it again") from None
        return cls, apply_roster(self.store, actor, cls.id, parse_roster(raw, self.store))

    def members_frame(self, class_id: Any) -> pd.DataFrame:
        """Who is in a class: its teachers, then its students, by user name."""
        cid = _int(class_id, "class")
        self.store.get_class(cid)
        rows = [["teacher", u.name, u.display_name or ""] for u in sorted(self.store.class_teachers(cid), key=lambda u: u.name)]
        rows += [["student", u.name, u.display_name or ""] for u in sorted(self.store.class_students(cid), key=lambda u: u.name)]
        return pd.DataFrame(rows, columns=["role", "user name", "display name"])

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
