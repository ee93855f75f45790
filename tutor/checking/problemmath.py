"""The math a problem states, as the step checker needs it: its equations and function definitions.

A first line of work is checked against the problem's equation (`Solve 2x + 3 = 7`), and a line
like `f(4) = 3*4 + 2` against a definition in it (`If f(x) = 3x + 2, find f(4).`). Worker side only
(`tutor.checking.steps_engine`).
"""

from __future__ import annotations

import functools
import re

import sympy
from sympy.core.function import AppliedUndef

from tutor.checking import mathtext, prose
from tutor.checking.mathtypes import Alternatives, Relation, Unreadable

_INSTRUCTION_RE = re.compile(
    r"^\s*(?:(?:please\s+)?(?:solve|simplify|expand|factor(?:ise|ize)?|evaluate|compute|calculate|find|"
    r"work\s+out|show\s+that|prove\s+that|rewrite|write)\b[^:]*?(?:the\s+(?:equation|expression|value\s+of))?\s*:?\s*)",
    re.IGNORECASE)
_TRAILER_RE = re.compile(r"\s*(?:,?\s*(?:for|where|if|when)\s+[a-z](?:\s*(?:in|is|>|<|≠).*)?)?\s*[.?!]?\s*$",
                         re.IGNORECASE)


@functools.lru_cache(maxsize=64)  # every line of a session is checked against the same problem
def problem_readings(problem: str) -> tuple:
    """Every piece of math in a problem: LaTeX spans first, then the plain sentence."""
    candidates = prose.latex_spans(problem)
    plain = _TRAILER_RE.sub("", _INSTRUCTION_RE.sub("", problem.strip()))
    candidates.append(plain)
    if ":" in problem:
        candidates.append(_TRAILER_RE.sub("", problem.rsplit(":", 1)[1]))
    runs = prose.fragments(problem)  # plain runs: `If f(x) = 3x + 2, find f(4).`
    readings = []
    for i, text in enumerate(candidates + runs):
        try:
            reading = (mathtext.read_math(text), mathtext.read_math(text, raw=True))
        except Unreadable:
            continue
        # a bare number in a word problem ("3 apples") is data, not the problem's equation
        if i >= len(candidates) and not (isinstance(reading[0], (Relation, Alternatives)) or free(reading[0])):
            continue
        readings.append(reading)
    return tuple(readings)


def problem_math(readings: tuple):
    """The equation or expression the problem is about: its first equation, else its first math."""
    for reading in readings:
        if isinstance(reading[0], (Relation, Alternatives)) and not definitions(reading[0]):
            return reading
    for reading in readings:
        if isinstance(reading[0], (Relation, Alternatives)):
            return reading
    return readings[0] if readings else (None, None)


def definitions(*readings) -> dict:
    """`f(x) = 3x + 2` defines f: {f: Lambda(x, 3x + 2)}."""
    defs = {}
    for m in readings:
        for rel in (m.items if isinstance(m, Alternatives) else [m]):
            if isinstance(rel, Relation) and rel.ops == ("=",) and isinstance(rel.sides[0], AppliedUndef):
                args = rel.sides[0].args
                if args and all(isinstance(a, sympy.Symbol) for a in args) and len(set(args)) == len(args) \
                        and set(args) & free(rel.sides[1]):
                    defs[rel.sides[0].func] = sympy.Lambda(args, rel.sides[1])
    return defs


def substitute(m, defs: dict):
    if isinstance(m, Relation):
        return Relation(tuple(substitute(side, defs) for side in m.sides), m.ops)
    if isinstance(m, Alternatives):
        return Alternatives(tuple(substitute(i, defs) for i in m.items))
    if isinstance(m, sympy.Basic) and m.has(*defs):
        return m.replace(lambda e: isinstance(e, AppliedUndef) and e.func in defs,
                         lambda e: defs[e.func](*e.args))
    return m


def evaluation_claim(m, defs: dict) -> bool:
    """`f(4) = 14`, `f(x + 1) = 3x + 5`: a defined function evaluated at something, set equal to values."""
    if not (isinstance(m, Relation) and all(op == "=" for op in m.ops)):
        return False
    first = m.sides[0]
    return (isinstance(first, AppliedUndef) and first.func in defs
            and not all(isinstance(a, sympy.Symbol) for a in first.args)
            and not any(calls(side, defs) for side in m.sides[1:]))


def calls(m, defs: dict) -> bool:
    if isinstance(m, Relation):
        return any(calls(side, defs) for side in m.sides)
    if isinstance(m, Alternatives):
        return any(calls(i, defs) for i in m.items)
    return isinstance(m, sympy.Basic) and any(
        isinstance(e, AppliedUndef) and e.func in defs for e in sympy.preorder_traversal(m))


def free(x) -> set:
    return set(getattr(x, "free_symbols", set()))
