"""Reading math that people and models type (LaTeX or plain text) into SymPy.

`read_math("2x + 3 = 7")`, `read_math(r"\\frac{1}{2}")`, `read_math("x = ±2")`, `read_math("$1,000")`
all give a `Math` value: a SymPy expression or set, a `Relation` (`=`, `<`, ... possibly chained), or
`Alternatives` (`x = 2 or x = -2`, `2, 3`). LaTeX goes through math-verify's LaTeX parser (its
signal-based timeout off: callers run this in a worker process with their own deadline); plain
text through `tutor.checking.plainmath`. Every symbol comes out as a real, lower-case
`Symbol(name, real=True)`, whichever path read it, so readings compare with each other.

Normalisation (documented in the README): `$`/`\\$` currency signs, thousands separators
(`1,000`), `%`, degrees and trailing unit words (`5 cm`, `12 apples`) are dropped; decimals are
exact rationals (`0.5` is 1/2, `0.33` is 33/100, never 1/3).
"""

from __future__ import annotations

import logging

import sympy
from sympy import Basic, Float, Rational, Symbol

from tutor.checking.mathtypes import MAX_CHARS, Alternatives, Math, Relation, TooLarge, Unreadable
from tutor.checking.plainmath import read_plain

__all__ = ["MAX_CHARS", "Alternatives", "Math", "Relation", "TooLarge", "Unreadable", "evaluate", "normalise",
           "read_math"]

logging.getLogger("math_verify").setLevel(logging.ERROR)
logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)


def read_math(text: str, *, raw: bool = False) -> Math:
    """Read one answer or line of work. Raises `Unreadable` with a reason.

    `raw=True` keeps the structure as typed where the reader allows (`2(x+3)` stays a product, not
    `2x + 6`), for the step checker's diagnosis of what went wrong."""
    if text is None or not str(text).strip():
        raise Unreadable("there is nothing to read")
    text = str(text)
    if len(text) > MAX_CHARS:
        raise Unreadable(f"it is too long to check ({len(text)} characters; the limit is {MAX_CHARS})")
    text = _strip_delimiters(text.strip())
    latexy = "\\" in text.replace("\\$", "").replace("\\%", "") or "{" in text or "}" in text
    # Plain text never falls back to the LaTeX parser: that one reads any word as a product of letters.
    readers = (_read_latex, read_plain) if latexy else (read_plain,)
    first_error: Unreadable | None = None
    for reader in readers:
        try:
            if raw:
                with sympy.evaluate(False):  # renaming symbols must not re-evaluate 2(x+3) into 2x + 6
                    return evaluate(normalise(reader(text)), raw=True)
            return evaluate(normalise(reader(text)))
        except TooLarge:
            raise
        except Unreadable as exc:
            first_error = first_error or exc
        except (RecursionError, MemoryError):
            raise Unreadable("it is nested too deeply or too large to read") from None
        except Exception:  # noqa: BLE001 - a parser crash means "cannot read", not an error of ours
            first_error = first_error or Unreadable("it could not be read as math")
    raise first_error or Unreadable("it could not be read as math")


def _strip_delimiters(text: str) -> str:
    for left, right in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")):
        if text.startswith(left) and text.endswith(right) and len(text) > len(left) + len(right):
            inner = text[len(left):-len(right)]
            if "$" not in inner.replace("\\$", ""):
                return inner.strip()
    return text


# --- LaTeX --------------------------------------------------------------------------------------
def _read_latex(text: str) -> Math:
    from math_verify import LatexExtractionConfig, parse

    s = text.replace("\u2212", "-").replace("\\$", "").replace("$", "")  # currency signs
    found = parse(f"${s}$", extraction_config=[LatexExtractionConfig()], fallback_mode="no_fallback",
                  parsing_timeout=None, raise_on_error=False)
    values = [v for v in found if isinstance(v, (Basic, sympy.MatrixBase))]
    if not values:
        raise Unreadable("the LaTeX could not be read as math")
    return _from_sympy(values[0])


def _from_sympy(value) -> Math:
    if isinstance(value, sympy.And):
        rels = list(value.args)
        if all(isinstance(r, sympy.core.relational.Relational) for r in rels):
            return Alternatives(tuple(_from_sympy(r) for r in rels))
    if isinstance(value, sympy.core.relational.Relational):
        op = {sympy.Eq: "=", sympy.Ne: "!=", sympy.Lt: "<", sympy.Le: "<=", sympy.Gt: ">",
              sympy.Ge: ">="}.get(type(value), "=")
        return Relation((value.lhs, value.rhs), (op,))
    if isinstance(value, sympy.FiniteSet) and value.args and all(
            isinstance(a, sympy.core.relational.Relational) for a in value.args):
        return Alternatives(tuple(_from_sympy(a) for a in value.args))
    return value


# --- shared clean-up ----------------------------------------------------------------------------
def normalise(value: Math) -> Math:
    """Exact decimals, percent signs dropped, one real symbol per name."""
    if isinstance(value, Relation):
        return Relation(tuple(normalise(s) for s in value.sides), value.ops)
    if isinstance(value, Alternatives):
        return Alternatives(tuple(normalise(i) for i in value.items))
    if not isinstance(value, Basic):
        return value
    if isinstance(value, sympy.FiniteSet) and type(value) is not sympy.FiniteSet:
        # latex2sympy's own FiniteSet subclass never equals SymPy's: rebuild it as SymPy's
        return sympy.FiniteSet(*[normalise(a) for a in value.args])
    percent = sympy.UnevaluatedExpr(Rational(1, 100))
    if value.has(percent):
        value = value.replace(
            lambda e: isinstance(e, sympy.Mul) and percent in e.args,
            lambda e: sympy.Mul(*[a for a in e.args if a != percent]))
    floats = value.atoms(Float)
    if floats:
        value = value.xreplace({f: Rational(str(f)) for f in floats})
    symbols = [s for s in value.atoms(Symbol)]
    if symbols:
        # lower case: math-verify's LaTeX reader lower-cases symbols (`R^{2}` -> r**2), so plain must too
        value = value.xreplace({s: Symbol(s.name.lower(), real=True) for s in symbols})
    if value.has(sympy.UnevaluatedExpr):
        value = value.replace(lambda e: isinstance(e, sympy.UnevaluatedExpr), lambda e: e.args[0])
    return value


MAX_DIGITS = 10_000  # numbers beyond this many digits are refused rather than computed


def evaluate(value: Math, *, raw: bool = False) -> Math:
    """Evaluate a reading once its numbers are known to be of a sane size (`raw`: only check them)."""
    if isinstance(value, Relation):
        return Relation(tuple(evaluate(s, raw=raw) for s in value.sides), value.ops)
    if isinstance(value, Alternatives):
        return Alternatives(tuple(evaluate(i, raw=raw) for i in value.items))
    if not isinstance(value, Basic):
        return value
    digits = _digits(value)
    if digits > MAX_DIGITS:
        shown = f"about {digits:.0f} digits" if digits < 1e15 else "far too many digits"
        raise TooLarge(f"a number in it is too large to work with ({shown})")
    return value if raw else value.doit()


def _digits(expr: Basic, depth: int = 0) -> float:
    """Rough decimal digits of the largest number `expr` would produce if evaluated (inf if huge)."""
    import math

    if depth > 200:
        return math.inf
    if isinstance(expr, sympy.Integer):
        return len(str(abs(int(expr)))) if abs(int(expr)) > 10 else 1.0
    if isinstance(expr, sympy.Rational):
        return max(_digits(sympy.Integer(expr.p)), _digits(sympy.Integer(expr.q)))
    if isinstance(expr, sympy.Pow):
        base, exp = expr.args
        b = _digits(base, depth + 1)
        e = _digits(exp, depth + 1)
        if not exp.is_number or not base.is_number:
            return max(b, e)
        if e > 300:
            return math.inf
        try:
            e_val = abs(float(sympy.Abs(exp).evalf(15)))
        except (TypeError, ValueError, OverflowError):
            return math.inf
        try:
            b_log = max(1.0, abs(math.log10(abs(float(base.evalf(15)))))) if base.is_number else 1.0
        except (TypeError, ValueError, OverflowError):
            b_log = b
        return max(b, e_val * b_log)
    if isinstance(expr, (sympy.factorial, sympy.gamma)):
        n = _digits(expr.args[0], depth + 1)
        if n > 6:
            return math.inf
        try:
            v = float(expr.args[0].evalf(15))
        except (TypeError, ValueError):
            return n
        return v * math.log10(max(v, 2)) if v > 0 else n
    if not expr.args:
        return 1.0
    parts = [_digits(a, depth + 1) for a in expr.args]
    return sum(parts) if isinstance(expr, sympy.Mul) else max(parts)
