"""Classes: create one, give it teachers, enroll and unenroll students, change its settings, export it.

Creating, staffing and enrolling are an admin's; a class's settings and its export belong to its
teachers too. Every operation checks who acts, validates everything before it writes anything, and
leaves one audit entry naming the people involved by user name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, TextIO

from tutor.errors import BadInput
from tutor.school.access import Actor, audit, require_admin, require_class

if TYPE_CHECKING:
    from tutor.store import ClassRecord, Store, UserRecord


@dataclass(frozen=True)
class Enrolment:
    cls: ClassRecord
    added: list[str]        # user names newly enrolled
    already: list[str]      # user names that were enrolled before


def _teachers(store: Store, teacher_ids: Iterable[int]) -> list[UserRecord]:
    users = [store.get_user(tid) for tid in teacher_ids]
    for user in users:
        if user.role not in ("teacher", "admin"):
            raise BadInput(f"{user.name} is a {user.role}; only teachers and admins can teach a class")
    return users


def _students(store: Store, student_ids: Iterable[int]) -> list[UserRecord]:
    users = [store.get_user(sid) for sid in student_ids]
    if not users:
        raise BadInput("choose at least one student")
    for user in users:
        if user.role != "student":
            raise BadInput(f"{user.name} is a {user.role}, not a student")
    return users


def create_class(store: Store, actor: Actor, name: str, *, teacher_ids: Iterable[int] = (),
                 allow_solve_mode: bool = False, allow_hint_skip: bool = False) -> ClassRecord:
    require_admin(actor)
    teachers = _teachers(store, teacher_ids)
    cls = store.create_class((name or "").strip(), teachers=[t.id for t in teachers],
                             allow_solve_mode=bool(allow_solve_mode), allow_hint_skip=bool(allow_hint_skip))
    audit(store, actor, "class.create", target_type="class", target_id=cls.id, label=cls.name,
          teachers=[t.name for t in teachers], allow_solve_mode=cls.allow_solve_mode,
          allow_hint_skip=cls.allow_hint_skip)
    return cls


def add_teachers(store: Store, actor: Actor, class_id: int, teacher_ids: Iterable[int]) -> ClassRecord:
    """Make teachers (or admins) teachers of an existing class."""
    return _staff(store, actor, class_id, teacher_ids, adding=True)


def remove_teachers(store: Store, actor: Actor, class_id: int, teacher_ids: Iterable[int]) -> ClassRecord:
    """They stop teaching the class at their next click (the class's sessions stay)."""
    return _staff(store, actor, class_id, teacher_ids, adding=False)


def _staff(store: Store, actor: Actor, class_id: int, teacher_ids: Iterable[int], *, adding: bool) -> ClassRecord:
    require_admin(actor)
    cls = store.get_class(class_id)
    # Only teachers and admins are added; anyone is removed, whatever their role has become since.
    teachers = _teachers(store, teacher_ids) if adding else [store.get_user(tid) for tid in teacher_ids]
    if not teachers:
        raise BadInput("choose at least one teacher")
    for t in teachers:
        (store.add_teacher if adding else store.remove_teacher)(cls.id, t.id)
    audit(store, actor, "class.teacher" if adding else "class.teacher.remove", target_type="class",
          target_id=cls.id, label=cls.name, teachers=[t.name for t in teachers])
    return cls


def enroll(store: Store, actor: Actor, class_id: int, student_ids: Iterable[int]) -> Enrolment:
    """Enroll students; all are checked before any is enrolled."""
    require_admin(actor)
    cls = store.get_class(class_id)
    students = _students(store, student_ids)
    added = [s.name for s in students if store.enroll(cls.id, s.id)]
    already = [s.name for s in students if s.name not in added]
    audit(store, actor, "class.enroll", target_type="class", target_id=cls.id, label=cls.name,
          students=added, already_enrolled=already)
    return Enrolment(cls, added, already)


def unenroll(store: Store, actor: Actor, class_id: int, student_ids: Iterable[int]) -> list[str]:
    """Take students out of a class (their sessions stay); the names of those who were in it."""
    require_admin(actor)
    cls = store.get_class(class_id)
    users = [store.get_user(sid) for sid in student_ids]
    removed = [u.name for u in users if store.unenroll(cls.id, u.id)]
    if removed:
        audit(store, actor, "class.unenroll", target_type="class", target_id=cls.id, label=cls.name,
              students=removed)
    return removed


def set_class_settings(store: Store, actor: Actor, class_id: int, *, allow_solve_mode: bool | None = None,
                       allow_hint_skip: bool | None = None) -> ClassRecord:
    """Change a class's switches (None leaves one as it is); its teachers and admins may."""
    cls = require_class(store, actor, class_id)
    new = store.set_class_settings(cls.id, allow_solve_mode=allow_solve_mode, allow_hint_skip=allow_hint_skip)
    audit(store, actor, "class.settings", target_type="class", target_id=cls.id, label=cls.name,
          allow_solve_mode=new.allow_solve_mode, allow_hint_skip=new.allow_hint_skip)
    return new


def export_class(store: Store, actor: Actor, class_id: int, fmt: str, out: TextIO) -> int:
    """Write the class's sessions, attempts and hints to `out` as CSV or JSONL; the rows written.
    Its teachers and admins may; the export is audited because it carries learners' work."""
    cls = require_class(store, actor, class_id)
    count = store.export_class(cls.id, fmt, out)
    audit(store, actor, "class.export", target_type="class", target_id=cls.id, label=cls.name,
          format=fmt, rows=count)
    return count
