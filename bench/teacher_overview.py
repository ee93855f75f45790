"""How long a teacher waits for a class overview and a session review, on a seeded SQLite (or
--database-url) store: a class of --students learners with --sessions sessions each, every session with
events, code cells, hints and attempts, and some flags.

Measured in one run, each as the median of --repeat calls:
  - baseline: `store.list_sessions()` of one learner (one indexed query) — what any page pays;
  - overview: everything the teacher page computes when a class is opened (roster, mastery chart,
    struggling problems, session list, flags, assignments);
  - review: one session's transcript rendered for the page (messages + facts panel);
  - export: the class's CSV export.
Prints milliseconds and the ratio to the baseline. Numbers on a shared 2-core box are noisy.

Usage:  python bench/teacher_overview.py [--students 30] [--sessions 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import teacher_data as data  # noqa: E402
from app.teacher_actions import TeacherActions  # noqa: E402
from app.teacher_review import render_transcript  # noqa: E402
from tutor.settings import load_settings  # noqa: E402
from tutor.store import Store  # noqa: E402
from tutor.store.passwords import make_hasher  # noqa: E402


def seed(store: Store, students: int, sessions: int) -> tuple[int, int, int]:
    teacher = store.create_user("tess", "teacher")
    cls = store.create_class("Bench class", teachers=[teacher.id])
    problems = [store.create_problem(f"Solve {k}x + 3 = {2 * k + 3}.", source="teacher", reference_answer="2").id
                for k in range(1, 6)]
    for i in range(students):
        u = store.create_user(f"s{i:03d}", "student", display_name=f"Student {i}")
        store.enroll(cls.id, u.id)
        for j in range(sessions):
            sid = store.create_session(u.id, problem_id=problems[j % len(problems)]).id
            store.append(sid, {"kind": "session_started", "session_id": sid, "mode": "tutor", "question": "q"})
            store.append(sid, {"kind": "round_text", "text": "Let us compute.\n```python\nprint(2)\n```", "round": 0},
                         private=True)
            store.append(sid, {"kind": "output", "code": "print(2)", "stdout": "2\n", "stderr": "", "error": None,
                               "timed_out": False, "restarted": False, "duration_s": 0.01, "observation": "2",
                               "round": 0}, private=True)
            for level in (1, 2):
                store.append(sid, {"kind": "hint", "step": 1, "level": level, "text": f"Hint {level} about $x$."})
            store.append(sid, {"kind": "attempt", "attempt_kind": "answer", "verdict": "incorrect", "input": "x = 3",
                               "feedback": "Not yet."})
            store.append(sid, {"kind": "attempt", "attempt_kind": "answer", "verdict": "correct", "input": "2",
                               "feedback": "Correct.", "solved": True})
            store.update_mastery(u.id, "algebra", 0.5 + 0.01 * j, correct=True, cause="attempt",
                                 params=(0.2, 0.15, 0.2, 0.1))
            if j == 0 and i % 5 == 0:
                store.raise_flag(sid, "sandbox_kill", source="system")
    return teacher.id, cls.id, sid


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    settings = load_settings(data_dir=tmp, database_url=args.database_url)
    store = Store(settings.effective_database_url, hasher=make_hasher(time_cost=1, memory_kib=1024, parallelism=1))
    store.upgrade()
    t0 = time.perf_counter()
    teacher_id, class_id, last_sid = seed(store, args.students, args.sessions)
    seed_s = time.perf_counter() - t0
    teacher = store.get_user(teacher_id)
    actions = TeacherActions(SimpleNamespace(store=store, settings=settings))
    learner = store.class_students(class_id)[0]

    def overview() -> None:
        cls = data.require_class(store, teacher, class_id)
        summary = store.class_summary(cls.id)
        data.roster_frame(summary)
        data.mastery_frame(summary)
        data.struggles_frame(store.class_problem_stats(cls.id))
        data.sessions_frame(data.class_sessions(store, cls.id))
        data.flags_frame(store, cls.id)
        actions.assignments_frame(cls.id)

    def review() -> None:
        data.require_session(store, teacher, class_id, last_sid)
        render_transcript(store.transcript(last_sid))

    def export() -> None:
        store.export_class(class_id, "csv", io.StringIO())

    base = median_ms(lambda: store.list_sessions(learner.id), args.repeat)
    rows = [("baseline list_sessions", base), ("class overview", median_ms(overview, args.repeat)),
            ("session review", median_ms(review, args.repeat)), ("CSV export", median_ms(export, args.repeat))]
    print(f"store: {store.dialect}; class of {args.students} students x {args.sessions} sessions "
          f"({args.students * args.sessions} sessions, seeded in {seed_s:.1f} s); median of {args.repeat}")
    for name, ms in rows:
        print(f"  {name:<24} {ms:8.1f} ms   x{ms / base:6.1f} baseline")
    store.close()


if __name__ == "__main__":
    main()
