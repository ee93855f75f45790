"""What the teacher page may see and how it is shaped: the access rules (a teacher sees only the classes
they teach and the sessions of those classes' students; an admin sees every class; defined in
tutor.school.access), and the tables and chart frames built from the store's read views. No Gradio here,
so the rules are tested directly.

Every lookup that fails for lack of access raises NotFound, exactly as for a thing that does not
exist: a teacher of another class learns nothing, not even that an id is in use.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

# The access rules live with the school's operations, which apply them too; the pages reach them from here.
from tutor.school.access import classes_for, require_class, require_flag, require_session  # noqa: F401

ROSTER_COLUMNS = ["student", "name", "sessions", "finished", "solved", "first-try correct %", "hints per step",
                  "bottom-out %", "time on task (min)", "open flags", "last active"]
STRUGGLE_COLUMNS = ["problem", "text", "learners", "answer attempts", "wrong %", "hints", "most common wrong answers"]
FLAG_COLUMNS = ["flag", "session", "kind", "student", "source", "note", "raised", "status"]
# A flag's kind in words; teachers' own flags come first, then the system's, grouped by kind.
FLAG_KINDS = {"note": "teacher's note", "teacher_flag": "teacher's note", "hint_replaced": "hint replaced by the guard",
              "key_unverified": "solution key not verified", "key_disagreement": "key and reference disagree",
              "sandbox_kill": "code stopped (ran too long)", "interrupted": "session interrupted",
              "replay_mismatch": "re-run code printed something else"}
SESSION_COLUMNS = ["session", "student", "title", "mode", "status", "started", "hints", "solved"]


# --- shaping --------------------------------------------------------------------------------------------
def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 1)


def roster_frame(rows: list[Any]) -> pd.DataFrame:
    data = [[r.display_name or r.name, r.name, r.sessions, r.finished, r.solved, _pct(r.first_try_correct_rate),
             None if r.hints_per_step is None else round(r.hints_per_step, 2), _pct(r.bottom_out_rate),
             round(r.time_on_task_s / 60.0, 1), r.open_flags,
             "" if r.last_active_at is None else f"{r.last_active_at:%Y-%m-%d %H:%M}"] for r in rows]
    return pd.DataFrame(data, columns=ROSTER_COLUMNS)


def mastery_frame(rows: list[Any]) -> pd.DataFrame:
    """One bar per (student, skill), coloured by skill: Gradio's bar plot stacks bars that share an x
    value, and stacked probabilities would read as more than 100%, so each bar gets its own label."""
    data = [[f"{r.display_name or r.name} · {skill}", r.display_name or r.name, skill, round(float(p), 3)]
            for r in rows for skill, p in sorted(r.mastery.items())]
    return pd.DataFrame(data, columns=["bar", "student", "skill", "mastery"])


def struggles_frame(stats: list[Any], limit: int = 20) -> pd.DataFrame:
    data = []
    for r in stats[:limit]:
        wrong = "; ".join(f"{answer} (×{n})" for answer, n in r.common_wrong) or "—"
        share = _pct(r.wrong_attempts / r.answer_attempts) if r.answer_attempts else None
        text = " ".join(r.text.split())
        data.append([r.problem_id, text if len(text) <= 140 else text[:137] + "…", r.learners, r.answer_attempts,
                     share, r.hints, wrong])
    return pd.DataFrame(data, columns=STRUGGLE_COLUMNS)


def class_sessions(store: Any, class_id: int, limit: int | None = 500) -> list[tuple[Any, Any]]:
    """(learner, session) for the sessions of the class's students, newest first."""
    learners = {u.id: u for u in store.class_students(class_id)}
    return [(learners[s.user_id], s) for s in store.class_sessions(class_id, limit=limit) if s.user_id in learners]


def session_label(learner: Any, s: Any) -> str:
    title = " ".join((s.title or "untitled").split())
    if len(title) > 50:
        title = title[:47] + "…"
    tags = [s.status] + (["solved"] if s.solved else []) + (["solve mode"] if s.mode == "solve" else [])
    return f"#{s.id} · {learner.display_name or learner.name} · {title} · {', '.join(tags)}"


def sessions_frame(pairs: list[tuple[Any, Any]]) -> pd.DataFrame:
    data = [[s.id, learner.display_name or learner.name, " ".join((s.title or "").split())[:80], s.mode, s.status,
             f"{s.started_at:%Y-%m-%d %H:%M}", s.hint_level, "yes" if s.solved else ""] for learner, s in pairs]
    return pd.DataFrame(data, columns=SESSION_COLUMNS)


def flag_kind(f: Any) -> str:
    if f.source == "teacher":
        return "teacher's note"
    return FLAG_KINDS.get(f.reason, f.reason.replace("_", " "))


def grouped_flags(flags: list[Any]) -> list[tuple[Any, int]]:
    """(flag, how many it stands for): teachers' flags first, newest first; then system flags by kind, one
    row per session and kind (older stores may hold repeats of an open system flag)."""
    teacher = sorted((f for f in flags if f.source == "teacher"), key=lambda f: -f.id)
    seen: dict[tuple[Any, ...], list[Any]] = {}
    for f in sorted((f for f in flags if f.source != "teacher"), key=lambda f: (flag_kind(f), f.session_id, f.id)):
        key = (f.session_id, f.reason, f.resolved_at is None) if f.resolved_at is None else (f.id,)
        seen.setdefault(key, []).append(f)
    return [(f, 1) for f in teacher] + [(group[0], len(group)) for group in seen.values()]


def flags_summary(flags: list[Any]) -> str:
    """'2 teacher's notes · 3 hint replaced by the guard' over the open flags, teachers' first."""
    counts: dict[str, int] = {}
    for f, _ in grouped_flags([f for f in flags if f.resolved_at is None]):
        counts[flag_kind(f)] = counts.get(flag_kind(f), 0) + 1
    return " · ".join(f"{n} {kind}" for kind, n in counts.items()) or "no open flags"


def flags_frame(store: Any, class_id: int, *, open_only: bool = True) -> pd.DataFrame:
    flags = store.flags(class_id=class_id, open_only=open_only)
    learner_of = {s.id: u.display_name or u.name for u, s in class_sessions(store, class_id, limit=None)}
    data = [[f.id, f.session_id, flag_kind(f) + (f" (×{n})" if n > 1 else ""), learner_of.get(f.session_id, "?"),
             f.source, f.note, f"{f.created_at:%Y-%m-%d %H:%M}",
             "open" if f.resolved_at is None else f"resolved: {f.resolution or ''}"]
            for f, n in grouped_flags(flags)]
    return pd.DataFrame(data, columns=FLAG_COLUMNS)
