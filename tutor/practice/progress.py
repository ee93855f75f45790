"""What the student's progress page shows, and the teacher's "who needs help now"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tutor.practice.catalog import label
from tutor.practice.policy import to_master

STUCK_WRONG = 3          # wrong tries on an unsolved problem
MANY_HINTS = 6           # hints within the window
FALLING = 0.15           # drop of P(known) over a skill's last three updates
WINDOW = dt.timedelta(days=2)


@dataclass(frozen=True)
class SkillProgress:
    skill: str
    label: str
    p_known: float
    mastered: bool
    to_master: int
    review_due_at: dt.datetime | None


@dataclass(frozen=True)
class Progress:
    skills: list[SkillProgress]
    due_labels: list[str]
    solved: int


def student_progress(practice: Any, user_id: int) -> Progress:
    now = practice.clock()
    practice.sync_reviews(user_id, now)
    reviews = {r.skill: r for r in practice.store.reviews(user_id)}
    skills, due = [], []
    for m in practice.store.mastery_of(user_id):
        params = practice.defaults
        mastered = m.p_known >= params.threshold
        review = reviews.get(m.skill)
        skills.append(SkillProgress(m.skill, label(m.skill), m.p_known, mastered,
                                    0 if mastered else to_master(m.p_known, params),
                                    review.due_at if review and mastered else None))
        if mastered and review is not None and review.due_at <= now:
            due.append(label(m.skill))
    skills.sort(key=lambda s: (s.mastered, s.p_known))
    return Progress(skills, due, len(practice.store.solved_problem_ids(user_id)))


@dataclass
class HelpNeeded:
    user_id: int
    name: str
    reasons: list[str] = field(default_factory=list)


def needs_help(store: Any, class_id: int, now: dt.datetime | None = None) -> list[HelpNeeded]:
    """Students who are stuck, leaning on hints, or whose mastery is falling, most reasons first."""
    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    for student in store.class_students(class_id):
        who = HelpNeeded(student.id, student.display_name or student.name)
        recent = [s for s in store.list_sessions(student.id, limit=10) if s.last_activity_at >= now - WINDOW]
        if recent and not recent[0].solved and recent[0].mode == "tutor":
            wrong = sum(a.verdict in ("incorrect", "invalid") for a in store.attempts(recent[0].id))
            if wrong >= STUCK_WRONG:
                who.reasons.append(f"stuck: {wrong} wrong tries on session #{recent[0].id}")
        hints = sum(len(store.hints(s.id)) for s in recent)
        if hints >= MANY_HINTS:
            who.reasons.append(f"many hints: {hints} in the last {WINDOW.days} days")
        history: dict[str, list[Any]] = {}
        for row in store.mastery_history(student.id):
            history.setdefault(row.skill, []).append(row)
        for skill, rows in sorted(history.items()):
            last = rows[-3:]
            if len(last) >= 2 and last[0].p_before - last[-1].p_after >= FALLING:
                who.reasons.append(f"falling mastery: {label(skill)} {round(100 * last[0].p_before)}% → "
                                   f"{round(100 * last[-1].p_after)}%")
        if who.reasons:
            out.append(who)
    out.sort(key=lambda h: (-len(h.reasons), h.name))
    return out
