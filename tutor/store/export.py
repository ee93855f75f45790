"""Export of a class's sessions, attempts and hints as CSV (one table, a `record` column says which
kind each row is, so it opens in any spreadsheet) or JSONL (one JSON object per line)."""

from __future__ import annotations

import csv
import json
from typing import Any, Iterator, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase
from tutor.store.errors import BadInput, NotFound
from tutor.store.models import Attempt, Class, Enrollment, HintShown, Problem, TutorSession, User
from tutor.store.sessions import in_class

FORMATS = ("csv", "jsonl")
COLUMNS = ["record", "learner", "session_id", "problem_id", "problem", "mode", "status", "solved", "started_at",
           "ended_at", "at", "kind", "step", "level", "input", "verdict", "feedback", "text", "guard"]


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


class ExportMixin(StoreBase):
    def export_rows(self, class_id: int) -> list[dict[str, Any]]:
        """The class's sessions (`sessions.in_class`), each followed by its attempts and hints in time order."""
        def tx(s: Session) -> list[dict[str, Any]]:
            if s.get(Class, class_id) is None:
                raise NotFound(f"no class with id {class_id}")
            learners = dict(s.execute(select(User.id, User.name).join(Enrollment, Enrollment.user_id == User.id)
                                      .where(Enrollment.class_id == class_id)).all())
            sessions = s.scalars(select(TutorSession).where(in_class(class_id))
                                 .order_by(TutorSession.user_id, TutorSession.started_at, TutorSession.id)).all()
            sids = [x.id for x in sessions]
            problems = dict(s.execute(select(Problem.id, Problem.text).where(
                Problem.id.in_([x.problem_id for x in sessions if x.problem_id]))).all())
            attempts = s.scalars(select(Attempt).where(Attempt.session_id.in_(sids)).order_by(Attempt.id)).all()
            hints = s.scalars(select(HintShown).where(HintShown.session_id.in_(sids)).order_by(HintShown.id)).all()
            rows: list[dict[str, Any]] = []
            for x in sessions:
                base = {"learner": learners[x.user_id], "session_id": x.id, "problem_id": x.problem_id}
                rows.append({"record": "session", **base, "problem": problems.get(x.problem_id or -1, ""),
                             "mode": x.mode, "status": x.status, "solved": x.solved,
                             "started_at": _iso(x.started_at), "ended_at": _iso(x.ended_at)})
                items = [(a.at, a.id, {"record": "attempt", **base, "at": _iso(a.at), "kind": a.kind, "step": a.step,
                                       "input": a.input, "verdict": a.verdict, "feedback": a.feedback})
                         for a in attempts if a.session_id == x.id]
                items += [(h.shown_at, h.id, {"record": "hint", **base, "at": _iso(h.shown_at), "step": h.step,
                                              "level": h.level, "text": h.text, "guard": h.guard})
                          for h in hints if h.session_id == x.id]
                rows.extend(item for _, _, item in sorted(items, key=lambda t: (t[0], t[2]["record"], t[1])))
            return rows
        return self._read(tx)

    def export_class(self, class_id: int, fmt: str, out: TextIO) -> int:
        """Write the export to `out`; returns the number of rows (not counting the CSV header)."""
        if fmt not in FORMATS:
            raise BadInput(f"export format must be one of {', '.join(FORMATS)}")
        rows = self.export_rows(class_id)
        for line in _render(rows, fmt):
            out.write(line)
        return len(rows)


def _render(rows: list[dict[str, Any]], fmt: str) -> Iterator[str]:
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps(row, ensure_ascii=False) + "\n"
        return

    class _Line:
        value = ""

        def write(self, text: str) -> None:
            self.value = text

    line = _Line()
    writer = csv.DictWriter(line, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    yield line.value
    for row in rows:
        # a cell starting with = + - @ would run as a formula in a spreadsheet: prefix it with '
        writer.writerow({k: _cell(v) for k, v in row.items()})
        yield line.value


def _cell(value: Any) -> Any:
    """A text cell starting with = + - @ would run as a formula in a spreadsheet: prefix it with '
    (plain numbers such as -3 stay as they are)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value
