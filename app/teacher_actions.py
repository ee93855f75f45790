"""What a teacher changes: flags on sessions, assignments (typed or from a dataset file), per-class
settings. Each action checks access first (app.teacher_data), validates the input with a clear message,
writes through the store and records itself in the audit log; resolving a flag and changing a class's
settings are the school's operations (tutor.school), shared with the command line.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from app import teacher_data as data
from app.teacher_datasets import list_datasets, load_problems, parse_rows, resolve_dataset
from tutor.errors import BadInput
from tutor.school.access import audit
from tutor.school.classes import set_class_settings
from tutor.school.flags import resolve_flag
from tutor.tutoring.skills import normalize_skill

MAX_NOTE_CHARS = 2000
ASSIGNMENT_COLUMNS = ["assignment", "what", "problems", "assigned", "by"]


def parse_skills(text: str) -> list[str]:
    out = []
    for part in (text or "").split(","):
        if part.strip():
            out.append(normalize_skill(part))
    return out


class TeacherActions:
    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.store = ctx.store
        self.settings = ctx.settings

    # --- flags -------------------------------------------------------------------------------------------
    def flag(self, user: Any, class_id: Any, session: Any, note: str) -> Any:
        note = (note or "").strip()
        if len(note) > MAX_NOTE_CHARS:
            raise BadInput(f"a flag note is at most {MAX_NOTE_CHARS} characters")
        flag = self.store.raise_flag(session.id, "teacher_flag", note=note, source="teacher", raised_by=user.id)
        audit(self.store, user, "flag.raise", target_type="session", target_id=session.id,
              label=f"session #{session.id}", flag_id=flag.id, note=note, class_id=int(class_id))
        return flag

    def resolve(self, user: Any, class_id: Any, flag_id: Any, resolution: str) -> Any:
        if flag_id in (None, ""):
            raise BadInput("choose an open flag first")
        return resolve_flag(self.store, user, flag_id, resolution, class_id=class_id)

    # --- settings ----------------------------------------------------------------------------------------
    def save_settings(self, user: Any, class_id: Any, solve: bool, skip: bool) -> Any:
        return set_class_settings(self.store, user, class_id, allow_solve_mode=bool(solve), allow_hint_skip=bool(skip))

    # --- assignments -------------------------------------------------------------------------------------
    def datasets(self) -> list[str]:
        return list_datasets(self.settings)

    def dataset_problems(self, path: str, spec: str) -> list[Any]:
        file = resolve_dataset(self.settings, path)
        return load_problems(file, parse_rows(spec, self.settings.web.teacher_max_assign))

    def assign_typed(self, user: Any, class_id: Any, text: str, reference: str, skill_text: str,
                     title: str) -> str:
        cls = data.require_class(self.store, user, class_id)
        text = (text or "").strip()
        if not text:
            raise BadInput("type the problem first")
        skills = parse_skills(skill_text)
        ref = (reference or "").strip() or None
        problem_set = self.store.create_problem_set(title.strip(), created_by=user.id) if (title or "").strip() else None
        problem = self.store.create_problem(text, source="teacher", reference_answer=ref,
                                            reference_set_by=user.id if ref else None, skills=skills,
                                            problem_set_id=problem_set.id if problem_set else None,
                                            position=0 if problem_set else None, created_by=user.id)
        if problem_set is not None:
            assignment = self.store.assign(cls.id, problem_set_id=problem_set.id, assigned_by=user.id)
        else:
            assignment = self.store.assign(cls.id, problem_id=problem.id, assigned_by=user.id)
        audit(self.store, user, "class.assign", target_type="class", target_id=cls.id, label=cls.name,
              assignment_id=assignment.id, problem_ids=[problem.id], reference_answer=ref,
              problem_set_id=problem_set.id if problem_set else None)
        return f"Problem #{problem.id} assigned to {cls.name}" + (" with a reference answer." if ref else ".")

    def assign_dataset(self, user: Any, class_id: Any, path: str, spec: str, use_answers: bool, title: str) -> str:
        cls = data.require_class(self.store, user, class_id)
        file = resolve_dataset(self.settings, path)
        problems = load_problems(file, parse_rows(spec, self.settings.web.teacher_max_assign))
        title = (title or "").strip()
        if len(problems) > 1 and not title:
            title = f"{file.stem} rows {spec.strip()}"
        problem_set = self.store.create_problem_set(title, created_by=user.id) if title else None
        ids = []
        for pos, p in enumerate(problems):
            ref = p.answer if use_answers else None
            rec = self.store.create_problem(p.text, source="dataset", reference_answer=ref,
                                            reference_set_by=user.id if ref else None, skills=list(p.skills),
                                            reference_solution=p.solution if use_answers else None,
                                            problem_set_id=problem_set.id if problem_set else None,
                                            position=pos if problem_set else None, created_by=user.id,
                                            source_ref=f"{file.name}:{p.row}")
            ids.append(rec.id)
        if problem_set is not None:
            assignment = self.store.assign(cls.id, problem_set_id=problem_set.id, assigned_by=user.id)
        else:
            assignment = self.store.assign(cls.id, problem_id=ids[0], assigned_by=user.id)
        audit(self.store, user, "class.assign", target_type="class", target_id=cls.id, label=cls.name,
              assignment_id=assignment.id, problem_ids=ids, dataset=str(file), rows=spec.strip(),
              problem_set_id=problem_set.id if problem_set else None)
        what = f"problem set “{title}” ({len(ids)} problems)" if problem_set else f"problem #{ids[0]}"
        return f"Assigned {what} from {file.name} to {cls.name}."

    def problem_set_choices(self) -> list[tuple[str, int]]:
        return [(f"{ps.title} ({len(self.store.problems_in_set(ps.id))} problems)", ps.id)
                for ps in self.store.list_problem_sets()]

    def assign_set(self, user: Any, class_id: Any, set_id: Any) -> str:
        cls = data.require_class(self.store, user, class_id)
        try:
            problem_set = self.store.get_problem_set(int(set_id))
        except (TypeError, ValueError):
            raise BadInput("choose a problem set first") from None
        if any(a.problem_set_id == problem_set.id for a in self.store.class_assignments(cls.id)):
            raise BadInput(f"“{problem_set.title}” is already assigned to {cls.name}")
        assignment = self.store.assign(cls.id, problem_set_id=problem_set.id, assigned_by=user.id)
        audit(self.store, user, "class.assign", target_type="class", target_id=cls.id, label=cls.name,
              assignment_id=assignment.id, problem_set_id=problem_set.id)
        return f"Assigned problem set “{problem_set.title}” to {cls.name}."

    def assignments_frame(self, class_id: int) -> pd.DataFrame:
        rows = []
        names: dict[int, str] = {}
        for a in self.store.class_assignments(class_id):
            if a.problem_set_id is not None:
                ps = self.store.get_problem_set(a.problem_set_id)
                what, count = f"set: {ps.title}", len(self.store.problems_in_set(ps.id))
            else:
                p = self.store.get_problem(a.problem_id)
                text = " ".join(p.text.split())
                what, count = (text if len(text) <= 100 else text[:97] + "…"), 1
            by = ""
            if a.assigned_by is not None:
                if a.assigned_by not in names:
                    u = self.store.get_user(a.assigned_by)
                    names[a.assigned_by] = u.display_name or u.name
                by = names[a.assigned_by]
            rows.append([a.id, what, count, f"{a.assigned_at:%Y-%m-%d %H:%M}", by])
        return pd.DataFrame(rows, columns=ASSIGNMENT_COLUMNS)
