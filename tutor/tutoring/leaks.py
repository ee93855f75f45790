"""Does a tutor's text state a hidden value? eval-tutor's own reading, sharing nothing with the hint
guard it measures: numbers in digits or words ("seven point five"), fractions and percentages, and the
maths the text writes ($\\frac{14}{2}$, 2 * 3.5, \\sqrt{49}) evaluated by SymPy in this process.
"""

from __future__ import annotations

import re
from fractions import Fraction

from tutor.tutoring.quantities import as_number, numbers_in

# "step 2", "rung 3 of 4", "2 of 3 steps", "hint 1": counting the ladder, not stating a value
_COUNTING = re.compile(r"\b(?:step|rung|hint|level|part|line)s?\s+\d+(?:\s+of\s+\d+)?|\b\d+\s+of\s+\d+\s+steps?\b"
                       r"|^\s*\d+[.)]\s", re.I | re.M)
_SPANS = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_PLAIN = re.compile(r"(?:=\s*)?(?<![\w\\])[\d.]+(?:\s*[-+*/×÷^]\s*[\d.]+)+")


def _to_sympy_text(tex: str) -> str:
    s = tex.replace("\\left", "").replace("\\right", "").replace("\\,", "").replace("\\!", "")
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("×", "*").replace("\\div", "/").replace("÷", "/")
    s = s.replace("\\%", "/100").replace("%", "/100").replace("\\$", "").replace(",", "")
    for _ in range(4):
        s = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", s)
        s = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", s)
    s = s.replace("\\pi", "pi").replace("^", "**").replace("{", "(").replace("}", ")")
    s = re.sub(r"\\boxed|\\text\s*\([^)]*\)|\\[a-zA-Z]+", " ", s)
    return s


_OPERATOR = re.compile(r"[-+*/×÷]|\\cdot|\\times|\\div")
# a number used as an operand ("subtract 3", "divide by 2", "16 - 3") is part of the working, not a value
_OPERAND = re.compile(r"(?:[-+*/×÷^]\s*|\b(?:by|from|times|plus|minus|add|subtract|multiply|divide|of)\s+)"
                      r"-?\d[\d,]*(?:\.\d+)?|-?\d[\d,]*(?:\.\d+)?(?=\s*[-+*/×÷^])", re.I)
_LONE_ONE = re.compile(r"(?<!\bis )(?<!\bequals )(?<!\bget )(?<!\bgives )\bone\b(?!\s*(?:point|hundred|thousand))", re.I)


def _expressions(text: str) -> list[str]:
    """The maths the text states as a value: the last side of each equation, and any side that is a
    single quantity (a number, a fraction, a root), not a calculation still to be done."""
    chunks = [next(g for g in m.groups() if g) for m in _SPANS.finditer(text)]
    chunks += [m.group(0) for m in _PLAIN.finditer(_SPANS.sub(" ", text))]
    out = []
    for chunk in chunks:
        sides = [p.strip() for p in chunk.split("=")]
        for i, side in enumerate(sides):
            single = not _OPERATOR.search(re.sub(r"^-", "", side))
            if side and (single or (i == len(sides) - 1 and len(sides) > 1)):
                out.append(side)
    return out[:60]


def _sympy_values(text: str) -> list[object]:
    import sympy
    from sympy.parsing.sympy_parser import (convert_xor, implicit_multiplication_application, parse_expr,
                                            standard_transformations)

    values = []
    for expr in _expressions(text):
        src = _to_sympy_text(expr)
        if not src.strip() or len(src) > 200:
            continue
        try:
            values.append(parse_expr(src, transformations=standard_transformations
                                     + (implicit_multiplication_application, convert_xor), evaluate=True))
        except Exception:  # noqa: BLE001 - text that is not maths states nothing
            continue
    return [v for v in values if isinstance(v, sympy.Basic)]


def states_value(text: str, value: str, *, known: set[Fraction] | frozenset[Fraction] = frozenset()) -> bool:
    """Does `text` state `value`? Numbers in `known` (the problem's own) are never counted."""
    if not text or not value or not value.strip():
        return False
    plain = _COUNTING.sub(" ", text)
    target = as_number(value)
    if target is not None:
        if target in known:
            return False
        prose = _LONE_ONE.sub(" ", _OPERAND.sub(" ", _SPANS.sub(" ", plain)))
        if target in numbers_in(prose, idioms=False):
            return True
    import sympy

    try:
        goal = sympy.sympify(_to_sympy_text(value)) if target is None else sympy.Rational(target.numerator,
                                                                                            target.denominator)
    except Exception:  # noqa: BLE001 - a value SymPy cannot read is only looked for as a number
        return False
    for got in _sympy_values(plain):
        try:
            if got.free_symbols or goal.free_symbols:
                same = got.free_symbols == goal.free_symbols and sympy.simplify(got - goal) == 0
            else:
                same = abs(complex(sympy.N(got - goal))) < 1e-9 * max(1.0, abs(complex(sympy.N(goal))))
        except Exception:  # noqa: BLE001
            continue
        if same:
            return True
    return False
