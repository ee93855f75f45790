"""The fixed list of skills the learner model tracks, and how a problem gets its skill tags.

Tags come, in order of trust: the teacher's tags on the problem, the MATH dataset's subject, the
model choosing from this fixed list, and last a keyword rule so a session never goes untagged.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from tutor.errors import BadInput

# name -> what it covers (the text the model chooses from when it tags a problem)
SKILLS: dict[str, str] = {
    "arithmetic": "arithmetic and word problems: whole numbers, fractions, decimals, percentages, rates",
    "prealgebra": "prealgebra: order of operations, ratios, simple equations, basic geometry facts",
    "algebra": "algebra: linear equations and inequalities, systems, quadratics, functions, exponents",
    "number_theory": "number theory: divisibility, primes, remainders, gcd and lcm, bases",
    "counting_probability": "counting and probability: permutations, combinations, probability",
    "geometry": "geometry: angles, triangles, circles, areas, volumes, similarity",
    "intermediate_algebra": "intermediate algebra: polynomials, complex numbers, logarithms, sequences, inequalities",
    "precalculus": "precalculus: trigonometry, vectors, matrices, polar coordinates, complex plane",
    "calculus": "calculus: limits, derivatives, integrals, series",
}

# The subject names used by the MATH dataset (Hendrycks et al.) and MATH-500.
MATH_SUBJECTS: dict[str, str] = {
    "prealgebra": "prealgebra",
    "algebra": "algebra",
    "number theory": "number_theory",
    "counting & probability": "counting_probability",
    "counting and probability": "counting_probability",
    "geometry": "geometry",
    "intermediate algebra": "intermediate_algebra",
    "precalculus": "precalculus",
}

# Keyword rules, checked in order; the first skill whose pattern matches wins.
_KEYWORDS: list[tuple[str, str]] = [
    ("calculus", r"\\int|integral|derivative|\\lim\b|limit of|\bd/dx|differentiat"),
    ("precalculus", r"\\(sin|cos|tan|cot|sec|csc)\b|\b(sin|cos|tan)\(|polar|\bmatri(x|ces)|\bvector|\\begin\{pmatrix"),
    ("counting_probability", r"probabilit|how many ways|arrangements?|permutation|combination|\\binom|choose"),
    ("number_theory", r"remainder|divisib|prime|\bgcd\b|\blcm\b|greatest common|least common|base \d|modulo|\\pmod|digits?"),
    ("geometry", r"triangle|circle|radius|angle|polygon|area of|perimeter|volume|square units|hypotenuse"),
    ("intermediate_algebra", r"polynomial|\blog|complex number|\bi\^2|sequence|\\sum|roots of|ellipse|hyperbola"),
    ("algebra", r"solve for|equation|\bx\s*[=^+-]|\\frac\{?[a-z]|inequalit|slope|quadratic|function|f\(x\)"),
    ("arithmetic", r"\$\d|dollars?|cents|percent|%|each|per (day|hour|week)|how much|how many"),
]


def normalize_skill(name: str) -> str:
    """Map a teacher's or dataset's label onto the fixed list; raises BadInput for an unknown one."""
    key = name.strip().lower()
    if key in SKILLS:
        return key
    if key in MATH_SUBJECTS:
        return MATH_SUBJECTS[key]
    slug = re.sub(r"[^a-z]+", "_", key).strip("_")
    if slug in SKILLS:
        return slug
    raise BadInput(f"unknown skill {name!r}; known skills: {', '.join(SKILLS)}")


def skills_from_tags(tags: Iterable[str]) -> list[str]:
    """Known skills among `tags`, in order, duplicates dropped; unknown labels are ignored."""
    out: list[str] = []
    for tag in tags:
        try:
            skill = normalize_skill(tag)
        except BadInput:
            continue
        if skill not in out:
            out.append(skill)
    return out


def keyword_skill(text: str) -> str:
    low = text.lower()
    for skill, pattern in _KEYWORDS:
        if re.search(pattern, low):
            return skill
    return "arithmetic" if re.search(r"\d", low) else "algebra"


def tagging_question(problem: str) -> str:
    """The question put to the model (DeepSeekMath format is added by tutor.solver.prompt)."""
    menu = "\n".join(f"- {name}: {desc}" for name, desc in SKILLS.items())
    return (f"Which one of these areas of mathematics does the problem below mainly need?\n{menu}\n\n"
            f"Problem: {problem}\n\nAnswer with the area's name only (for example: algebra).")


def parse_skill(reply: str) -> str | None:
    """The first skill name the model's reply mentions, or None."""
    low = reply.lower()
    best: tuple[int, str] | None = None
    forms = [(name, name) for name in SKILLS] + [(name.replace("_", " "), name) for name in SKILLS]
    forms += list(MATH_SUBJECTS.items())
    for form, name in forms:
        at = low.find(form)
        # prefer the earliest mention; at equal position the longer name (intermediate_algebra > algebra)
        if at >= 0 and (best is None or at < best[0] or (at == best[0] and len(name) > len(best[1]))):
            best = (at, name)
    return best[1] if best else None


def tag_problem(problem: str, *, tags: Iterable[str] = (), subject: str | None = None,
                ask_model: Callable[[str], str] | None = None) -> list[str]:
    """Skills for a problem: teacher tags, else dataset subject, else the model's pick, else keywords."""
    chosen = skills_from_tags(tags)
    if chosen:
        return chosen
    if subject:
        chosen = skills_from_tags([subject])
        if chosen:
            return chosen
    if ask_model is not None:
        try:
            picked = parse_skill(ask_model(tagging_question(problem)))
        except Exception:  # noqa: BLE001 - tagging must never stop a session; the keyword rule takes over
            picked = None
        if picked:
            return [picked]
    return [keyword_skill(problem)]
