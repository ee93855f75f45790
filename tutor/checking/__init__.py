"""Checking math with a computer algebra system: answers, lines of work, and math in prose.

What callers import (never imports SymPy, safe in the web process):
- `grader`: `grade(reference, answer)` -> Verdict; `mentions_value(text, value)` for the hint guard.
- `steps`: `check_step(line, previous, problem)`, `check_lines(work, ...)`, `split_lines`, `carried`.
- `prose`: the one reader of math in free text: `fragments(text)`, `claimed_equalities(text)`.
- `work`: a whole worked solution against a key: `check_work(work, key)` -> correct, first wrong line, kind,
  a focused question; `workkey`: the key (`key_from_solution` recomputes a teacher's worked solution,
  `key_from_steps`); `worklines`: the calculations and quantities each line of prose states.
- `workers`: the pool of warm worker processes everything above runs in (`configure`, `get_pool`).
- `mathtypes`: `Relation`, `Alternatives`, `Unreadable`, the input limits.

What only the worker processes import (SymPy):
- `grading_engine`: answer equivalence; `steps_engine`: one line against the one before;
  `problemmath`: a problem's equations and function definitions;
  `mathtext`: `read_math(text)`, LaTeX and plain; `plainmath`: the plain-text reader;
  `work_engine`: exact values of the calculations read from worked solutions.
"""
