"""The skills practice tracks: finer than the teacher's nine areas where the source says so (a MATH
problem's subject, a GSM8K word problem's kind), each mapped to the area the teacher sees."""

from __future__ import annotations

import re

from tutor.tutoring.skills import MATH_SUBJECTS, SKILLS

# GSM8K word-problem kinds, checked in order (the first whose pattern matches wins), all arithmetic.
WORD_PROBLEM_KINDS: list[tuple[str, str]] = [
    ("percentages", r"%|percent"),
    ("fractions", r"\bhalf\b|\bthird\b|quarter|\d+/\d+|fraction|two-thirds|three-fourths"),
    ("rates", r"per (hour|minute|day|week|mile|second)|an hour|a minute|mph|miles|speed|rate"),
    ("money", r"\$|dollars?|cents?|price|cost|pays?|earns?|sells?|profit|buy|bought"),
    ("time", r"hours?|minutes?|days?|weeks?|months?|years? old"),
]
FINE_SKILLS: dict[str, str] = {kind: "arithmetic" for kind, _ in WORD_PROBLEM_KINDS}
FINE_SKILLS["word_problems"] = "arithmetic"

LABELS: dict[str, str] = {
    "percentages": "percentages", "fractions": "fractions", "rates": "rates and speed", "money": "money problems",
    "time": "time problems", "word_problems": "word problems", "arithmetic": "arithmetic",
    "prealgebra": "prealgebra", "algebra": "algebra", "number_theory": "number theory",
    "counting_probability": "counting and probability", "geometry": "geometry",
    "intermediate_algebra": "intermediate algebra", "precalculus": "precalculus", "calculus": "calculus",
}

# A skill is ready once these are mastered (only those the class's bank actually has count).
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "prealgebra": ("arithmetic",), "algebra": ("prealgebra",), "number_theory": ("prealgebra",),
    "counting_probability": ("prealgebra",), "geometry": ("prealgebra",),
    "intermediate_algebra": ("algebra",), "precalculus": ("algebra",), "calculus": ("precalculus",),
}


def area_of(skill: str) -> str:
    """The teacher's area a (possibly finer) skill belongs to."""
    if skill in SKILLS:
        return skill
    return FINE_SKILLS.get(skill, skill)


def label(skill: str) -> str:
    return LABELS.get(skill, skill.replace("_", " "))


def word_problem_kind(text: str) -> str:
    low = text.lower()
    for kind, pattern in WORD_PROBLEM_KINDS:
        if re.search(pattern, low):
            return kind
    return "word_problems"


def math_skill(subject: str, level: str | int | None) -> tuple[str, int]:
    """(skill, difficulty 1-5) of a MATH problem from its subject and "Level N"."""
    skill = MATH_SUBJECTS.get(subject.strip().lower(), re.sub(r"[^a-z]+", "_", subject.lower()).strip("_"))
    found = re.search(r"\d", str(level or ""))
    return skill, min(5, max(1, int(found.group()) if found else 3))


def gsm8k_difficulty(solution: str) -> int:
    """GSM8K has no levels: the number of computed steps (<<...>> marks) stands in, 1-5."""
    steps = solution.count("<<") or max(1, solution.count("\n"))
    return min(5, max(1, (steps + 1) // 2))


def prerequisites(skill: str, present: set[str]) -> tuple[str, ...]:
    """The prerequisites of `skill` (through its area) that the bank has."""
    own = PREREQUISITES.get(skill) or PREREQUISITES.get(area_of(skill), ())
    out: list[str] = []
    for pre in own:
        out.extend(s for s in present if s == pre or area_of(s) == pre)
    return tuple(s for s in out if s != skill and area_of(s) != area_of(skill))
