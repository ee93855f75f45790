"""Classes: teachers, enrolled students, and the per-class switches (solve mode, hint skipping)."""

from __future__ import annotations

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase
from tutor.store.errors import AlreadyExists, BadInput, NotFound
from tutor.store.models import Class, ClassTeacher, Enrollment, User
from tutor.store.records import ClassPolicy, ClassRecord, UserRecord, to_record
from tutor.store.users import _user, user_record


def _class(session: Session, class_id: int) -> Class:
    row = session.get(Class, class_id)
    if row is None:
        raise NotFound(f"no class with id {class_id}")
    return row


class ClassesMixin(StoreBase):
    def create_class(self, name: str, *, teachers: tuple[int, ...] | list[int] = (), allow_solve_mode: bool = False,
                     allow_hint_skip: bool = False) -> ClassRecord:
        name = (name or "").strip()
        if not name or len(name) > 128:
            raise BadInput("class names are 1-128 characters")

        def tx(s: Session) -> ClassRecord:
            if s.scalar(select(Class.id).where(func.lower(Class.name) == name.lower())) is not None:
                raise AlreadyExists(f"a class named {name!r} already exists")
            row = Class(name=name, allow_solve_mode=allow_solve_mode, allow_hint_skip=allow_hint_skip)
            s.add(row)
            s.flush()
            for teacher_id in teachers:
                _add_teacher(s, row.id, teacher_id)
            return to_record(ClassRecord, row)
        return self._write(tx)

    def get_class(self, class_id: int) -> ClassRecord:
        return self._read(lambda s: to_record(ClassRecord, _class(s, class_id)))

    def class_by_name(self, name: str) -> ClassRecord | None:
        def tx(s: Session) -> ClassRecord | None:
            row = s.scalar(select(Class).where(Class.name == name))
            return None if row is None else to_record(ClassRecord, row)
        return self._read(tx)

    def list_classes(self, *, teacher_id: int | None = None, student_id: int | None = None) -> list[ClassRecord]:
        """All classes, or those a teacher teaches, or those a student is enrolled in."""
        def tx(s: Session) -> list[ClassRecord]:
            q = select(Class).order_by(Class.name)
            if teacher_id is not None:
                q = q.join(ClassTeacher, ClassTeacher.class_id == Class.id).where(ClassTeacher.user_id == teacher_id)
            if student_id is not None:
                q = q.join(Enrollment, Enrollment.class_id == Class.id).where(Enrollment.user_id == student_id)
            return [to_record(ClassRecord, r) for r in s.scalars(q)]
        return self._read(tx)

    def set_class_settings(self, class_id: int, *, allow_solve_mode: bool | None = None,
                           allow_hint_skip: bool | None = None) -> ClassRecord:
        def tx(s: Session) -> ClassRecord:
            row = _class(s, class_id)
            if allow_solve_mode is not None:
                row.allow_solve_mode = allow_solve_mode
            if allow_hint_skip is not None:
                row.allow_hint_skip = allow_hint_skip
            s.flush()
            return to_record(ClassRecord, row)
        return self._write(tx)

    def add_teacher(self, class_id: int, user_id: int) -> None:
        """Make a teacher (or admin) a teacher of the class; idempotent."""
        self._write(lambda s: _add_teacher(s, class_id, user_id))

    def remove_teacher(self, class_id: int, user_id: int) -> None:
        self._write(lambda s: s.execute(delete(ClassTeacher).where(ClassTeacher.class_id == class_id,
                                                                   ClassTeacher.user_id == user_id)))

    def enroll(self, class_id: int, user_id: int) -> bool:
        """Enroll a student; False when they already were."""
        def tx(s: Session) -> bool:
            _class(s, class_id)
            user = _user(s, user_id)
            if user.role != "student":
                raise BadInput(f"{user.name} is a {user.role}, not a student")
            if s.get(Enrollment, (class_id, user_id)) is not None:
                return False
            s.add(Enrollment(class_id=class_id, user_id=user_id))
            return True
        return self._write(tx)

    def unenroll(self, class_id: int, user_id: int) -> bool:
        return self._write(lambda s: s.execute(delete(Enrollment).where(
            Enrollment.class_id == class_id, Enrollment.user_id == user_id)).rowcount > 0)  # type: ignore[attr-defined]

    def class_teachers(self, class_id: int) -> list[UserRecord]:
        return self._read(lambda s: [user_record(u) for u in s.scalars(
            select(User).join(ClassTeacher, ClassTeacher.user_id == User.id)
            .where(ClassTeacher.class_id == class_id).order_by(User.name))])

    def class_students(self, class_id: int) -> list[UserRecord]:
        return self._read(lambda s: [user_record(u) for u in s.scalars(
            select(User).join(Enrollment, Enrollment.user_id == User.id)
            .where(Enrollment.class_id == class_id).order_by(User.name))])

    def teaches(self, teacher_id: int, class_id: int) -> bool:
        return self._read(lambda s: s.get(ClassTeacher, (class_id, teacher_id)) is not None)

    def is_teacher_of(self, teacher_id: int, student_id: int) -> bool:
        """Does this teacher teach a class the student is enrolled in? (the teacher pages' access rule)"""
        def tx(s: Session) -> bool:
            q = select(exists().where(ClassTeacher.user_id == teacher_id, Enrollment.user_id == student_id,
                                      ClassTeacher.class_id == Enrollment.class_id))
            return bool(s.scalar(q))
        return self._read(tx)

    def class_policy(self, user_id: int) -> ClassPolicy:
        """What the learner may do: solve mode / hint skipping if any of their classes allows it.
        Learners in no class get the defaults (both off)."""
        def tx(s: Session) -> ClassPolicy:
            rows = s.execute(select(Class.allow_solve_mode, Class.allow_hint_skip)
                             .join(Enrollment, Enrollment.class_id == Class.id)
                             .where(Enrollment.user_id == user_id)).all()
            return ClassPolicy(any(r[0] for r in rows), any(r[1] for r in rows))
        return self._read(tx)


def _add_teacher(s: Session, class_id: int, user_id: int) -> None:
    _class(s, class_id)
    user = _user(s, user_id)
    if user.role not in ("teacher", "admin"):
        raise BadInput(f"{user.name} is a {user.role}; only teachers and admins teach classes")
    if s.get(ClassTeacher, (class_id, user_id)) is None:
        s.add(ClassTeacher(class_id=class_id, user_id=user_id))
