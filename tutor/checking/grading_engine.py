"""The answer comparison itself, run only inside the checking workers (`tutor.checking.workers`).

Callers use `tutor.checking.grader`, which sends `compare` and `mentions` here; the rules are in its
docstring. Imports SymPy at the top: no module the web process imports may import this one.
"""

from __future__ import annotations

import random
import re

import sympy
from sympy import Basic
from sympy.core.function import AppliedUndef

from tutor.checking import mathtext, prose
from tutor.checking.mathtypes import Alternatives, Math, Relation, TooLarge, Unreadable


def warm_up() -> None:
    """Run at worker start, so the first real call does not pay for SymPy's caches."""
    compare(r"\frac{1}{2}", "0.5")
    compare("x = 2 or x = 3", "3, 2")
    mentions("so $x = 4$ and 2/3", "2/3")


def compare(reference: str, answer: str) -> tuple[bool, str]:
    """(equivalent, reason) for two texts; never raises."""
    try:
        return _compare_texts(reference, answer)
    except MemoryError:
        return False, "the numbers involved are too large to work with"
    except RecursionError:
        return False, "the expression is nested too deeply to compare"
    except Exception as exc:  # noqa: BLE001 - SymPy raises many kinds; none of them means "equal"
        return False, f"SymPy could not compare the two ({type(exc).__name__})"


def _compare_texts(reference: str, answer: str) -> tuple[bool, str]:
    if _text_key(reference) and _text_key(reference) == _text_key(answer):
        return True, "the same answer, written the same way"
    try:
        ref = mathtext.read_math(reference)
    except TooLarge as exc:
        return False, f"could not read the reference answer: {exc}"
    except Unreadable:
        # a reference that is not math (a name, a word) was compared as text above; the reason
        # must not quote it, since students may see it
        return False, "the answer does not match the reference (compared as text)"
    try:
        ans = mathtext.read_math(answer)
    except Unreadable as exc:
        return False, f"could not read the answer: {exc}"
    return equivalent(ref, ans)


def mentions(text: str, value: str) -> bool:
    """Does any fragment of math in `text` equal `value` (or, for a list, one of its values)?"""
    try:
        target = answer_shape(mathtext.read_math(value))
    except Unreadable:
        return _text_key(value) in _text_key(text)
    targets = [target]
    if target[0] == "many":
        targets += [("value", v) for v in target[1]]
    if "%" in text or "percent" in text.lower():  # "50%" gives away 0.5 even though grade() keeps them apart
        targets += [("value", t[-1] * 100) for t in list(targets)
                    if t[0] in ("value", "assign") and isinstance(t[-1], sympy.Expr) and t[-1].is_number]
    for candidate in prose.fragments(text):
        try:
            reading = mathtext.read_math(candidate)
        except Unreadable:
            continue
        for part in _parts(reading):
            shape = answer_shape(part)
            if any(_same_shape(t, shape)[0] for t in targets):
                return True
    return False


def _parts(m: Math):
    yield m
    if isinstance(m, Relation):
        for side in m.sides:
            yield from _parts(side)
    elif isinstance(m, Alternatives):
        for item in m.items:
            yield from _parts(item)
    elif isinstance(m, (sympy.FiniteSet, sympy.Tuple)):
        for item in m.args:
            yield from _parts(item)


def _text_key(text: str) -> str:
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", str(text))
    s = re.sub(r"[\s$]", "", s.replace("\\!", "").replace("\\,", "")).lower().rstrip(".")
    if s.startswith("(") and s.endswith(")") and "," not in s:
        s = s[1:-1]
    return s


# --- equivalence --------------------------------------------------------------------------------
def equivalent(ref: Math, ans: Math) -> tuple[bool, str]:
    return _same_shape(answer_shape(ref), answer_shape(ans))


def answer_shape(m: Math) -> tuple:
    """("value", v) | ("assign", sym, v) | ("many", [v...]) | ("system", {sym: v}) | ("set", S)
    | ("tuple", (..)) | ("relation", Relation)."""
    if isinstance(m, Relation):
        if all(op == "=" for op in m.ops):
            first, last = m.sides[0], m.sides[-1]
            named = isinstance(first, sympy.Symbol) or isinstance(first, AppliedUndef) and not _free(first)
            if named and not (_free(first) & _free(last)):  # x = 2, f(4) = 14
                inner = answer_shape(last)
                if inner[0] in ("many", "set"):
                    return inner
                return ("assign", first, last)
            if len(m.sides) == 2 and isinstance(last, sympy.Symbol) and not _free(first):
                return ("assign", last, first)
        if any(op != "=" for op in m.ops) and len(set().union(*[_free(x) for x in m.sides])) == 1:
            try:
                return ("set", _as_set(m))
            except Exception:  # noqa: BLE001 - leave it as a relation
                pass
        return ("relation", m)
    if isinstance(m, Alternatives):
        shapes = [answer_shape(i) for i in m.items]
        symbols = {s[1] for s in shapes if s[0] == "assign"}
        if all(s[0] == "assign" for s in shapes) and len(symbols) == len(shapes) > 1:
            return ("system", {s[1]: s[2] for s in shapes})
        if all(s[0] in ("value", "assign") for s in shapes) and len(symbols) <= 1:
            return ("many", [s[-1] for s in shapes])
        return ("many", [m.items[i] if s[0] == "relation" else s[-1] for i, s in enumerate(shapes)])
    if isinstance(m, sympy.FiniteSet):
        return ("many", [answer_shape(a)[-1] if isinstance(a, (Relation, Alternatives)) else a for a in m.args])
    if isinstance(m, sympy.Tuple):
        return ("tuple", tuple(m.args))
    if isinstance(m, sympy.Set):
        return ("set", m)
    return ("value", m)


def _same_shape(a: tuple, b: tuple) -> tuple[bool, str]:
    ka, kb = a[0], b[0]
    if ka == "assign" and kb == "assign" and a[1] != b[1]:
        return False, f"the answer gives {b[1]}, but the question is about {a[1]}"
    if ka in ("value", "assign") and kb in ("value", "assign"):
        return _values(a[-1], b[-1])
    if ka == "many" or kb == "many":
        ra = a[1] if ka == "many" else [a[-1]] if ka in ("value", "assign") else None
        rb = b[1] if kb == "many" else [b[-1]] if kb in ("value", "assign") else None
        if ka == "set" and kb == "many" and isinstance(a[1], sympy.FiniteSet):
            ra = list(a[1].args)
        if kb == "set" and ka == "many" and isinstance(b[1], sympy.FiniteSet):
            rb = list(b[1].args)
        if ra is None or rb is None:
            return False, "the answer is a different kind of object (a list of values vs. a set or equation)"
        return _unordered(ra, rb)
    if ka == "system" and kb == "system":
        if set(a[1]) != set(b[1]):
            return False, "the answer gives values for different variables"
        ok = all(_values(a[1][k], b[1][k])[0] for k in a[1])
        return (True, "the same value for every variable") if ok else (False, "at least one variable has a different value")
    if {ka, kb} == {"system", "tuple"}:  # x = 1, y = 2 against (1, 2): variables in alphabetical order
        system, point = (a[1], b[1]) if ka == "system" else (b[1], a[1])
        names = sorted(system, key=lambda s: s.name)
        if len(names) == len(point) and all(_values(system[n], v)[0] for n, v in zip(names, point)):
            return True, f"the same values, read as ({', '.join(n.name for n in names)})"
        return False, "at least one coordinate is different"
    if ka == "tuple" and kb == "tuple":
        if len(a[1]) != len(b[1]):
            return False, f"the reference has {len(a[1])} coordinates, the answer {len(b[1])}"
        ok = all(_values(x, y)[0] for x, y in zip(a[1], b[1]))
        return (True, "the same coordinates in the same order") if ok else (False, "at least one coordinate is different (order matters)")
    if {ka, kb} == {"tuple", "set"}:
        t, s = (a[1], b[1]) if ka == "tuple" else (b[1], a[1])
        if isinstance(s, sympy.Interval) and s.left_open and s.right_open and len(t) == 2:
            ok = _values(s.start, t[0])[0] and _values(s.end, t[1])[0]
            return (True, "the same open interval") if ok else (False, "a different interval")
        return False, "an interval and a point are different things"
    if ka == "set" and kb == "set":
        return _sets(a[1], b[1])
    if {ka, kb} <= {"relation", "assign"}:  # y = 2x + 1 against 2x - y + 1 = 0
        ra = a[1] if ka == "relation" else Relation((a[1], a[2]), ("=",))
        rb = b[1] if kb == "relation" else Relation((b[1], b[2]), ("=",))
        return _relations(ra, rb)
    if "relation" in (ka, kb):
        return False, "one is an equation or inequality and the other is not"
    return False, "the answer is a different kind of object than the reference"


def _values(x, y) -> tuple[bool, str]:
    if isinstance(x, sympy.Set) or isinstance(y, sympy.Set):
        if isinstance(x, sympy.Set) and isinstance(y, sympy.Set):
            return _sets(x, y)
        return False, "one is a set or interval and the other a single value"
    if isinstance(x, sympy.Symbol) and isinstance(y, sympy.Symbol):
        same = x.name.lower() == y.name.lower()
        return (True, "the same choice") if same else (False, "a different choice")
    if expr_equal(x, y):
        return True, "equal" if x == y else "equal after simplifying"
    if _near_decimal(x, y):
        return False, "a rounded decimal is not the exact value; give it exactly"
    return False, "not equal to the reference answer"


def _near_decimal(x, y) -> bool:
    """Is `y` a terminating decimal within 1% of the non-decimal value `x` (a rounded answer)?"""
    try:
        if not (isinstance(y, sympy.Rational) and x.is_number) or isinstance(x, sympy.Rational) and x.q in (1, y.q):
            return False
        q = int(y.q)
        for p in (2, 5):
            while q % p == 0:
                q //= p
        fx = float(x.evalf(20))
        return q == 1 and fx != 0 and abs(fx - float(y)) <= 0.01 * abs(fx)
    except (TypeError, ValueError, AttributeError):
        return False


def _unordered(ra: list, rb: list) -> tuple[bool, str]:
    if len(ra) != len(rb):
        return False, f"the reference has {len(ra)} value(s), the answer {len(rb)}"
    left = list(rb)
    for x in ra:
        for i, y in enumerate(left):
            if _values(x, y)[0]:
                del left[i]
                break
        else:
            return False, "at least one of the values is not right"
    return True, "the same values (order does not matter)"


def _sets(a, b) -> tuple[bool, str]:
    try:
        if a == b or a.symmetric_difference(b).is_empty:
            return True, "the same set"
    except Exception:  # noqa: BLE001 - SymPy cannot decide: not accepted
        pass
    return False, "a different set or interval (check the endpoints and whether they are included)"


def _relations(a: Relation, b: Relation) -> tuple[bool, str]:
    if (len(a.sides) != 2 or len(b.sides) != 2) and (a.ops[0] == "=" or b.ops[0] == "="):
        return False, "chained equations are not compared"
    if a.ops[0] == "=" and b.ops[0] == "=":
        pa, pb = a.sides[0] - a.sides[1], b.sides[0] - b.sides[1]
        try:
            ratio = sympy.simplify(pa / pb)
            if ratio.is_number and ratio != 0 and ratio.is_finite:
                return True, "the same equation, rearranged"
        except Exception:  # noqa: BLE001
            pass
        syms = _free(pa) | _free(pb)
        if len(syms) == 1:
            (s,) = syms
            try:
                sa = sympy.solveset(pa, s, sympy.S.Reals)
                sb = sympy.solveset(pb, s, sympy.S.Reals)
                if sa == sb:
                    return True, "an equation with the same solutions"
            except Exception:  # noqa: BLE001
                pass
        return False, "a different equation"
    try:
        if _as_set(a) == _as_set(b):
            return True, "the same inequality"
    except Exception:  # noqa: BLE001
        pass
    return False, "a different relation"


def relation_set(r: Relation, symbol=None):
    """Real solution set of a one-variable relation; chains (`-2 < x < 2`) intersect their links."""
    ops = {"=": sympy.Eq, "!=": sympy.Ne, "<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge}
    if symbol is None:
        (symbol,) = set().union(*[_free(side) for side in r.sides])
    result = sympy.S.Reals
    for left, op, right in zip(r.sides, r.ops, r.sides[1:]):
        result = sympy.Intersection(result, sympy.solveset(ops[op](left, right), symbol, sympy.S.Reals))
    return result


_as_set = relation_set


def _free(x) -> set:
    return set(getattr(x, "free_symbols", set()))


def expr_equal(a, b) -> bool:
    """Exact equality of two SymPy values (see the module docstring for what 'exact' means)."""
    if a == b:
        return True
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        return (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase) and a.shape == b.shape
                and all(expr_equal(x, y) for x, y in zip(a, b)))
    if not (isinstance(a, Basic) and isinstance(b, Basic)):
        return False
    try:
        diff = a - b
    except (TypeError, ValueError):
        return False
    symbols = sorted(_free(diff), key=str)
    if not symbols:
        return _numerically_zero(diff, a, b) and _exactly_zero_or_unknown(diff)
    # Random points first: they reject most wrong answers in microseconds, where expanding a
    # high power could take seconds.
    rng = random.Random(12345)
    points = [{s: sympy.Rational(rng.randint(-300, 300), rng.randint(7, 97)) for s in symbols} for _ in range(5)]
    checked = 0
    for point in points[:3]:
        verdict = _zero_at(diff, a, b, point)
        if verdict is False:
            return False
        checked += verdict is True
    try:
        if sympy.expand(diff) == 0 or sympy.simplify(diff) == 0:
            return True
    except Exception:  # noqa: BLE001
        pass
    for point in points[3:]:
        verdict = _zero_at(diff, a, b, point)
        if verdict is False:
            return False
        checked += verdict is True
    return checked >= 3


def _zero_at(diff, a, b, point) -> bool | None:
    try:
        v = diff.subs(point).evalf(40)
        if not v.is_number or v.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            return None
        scale = max(1.0, abs(complex(a.subs(point).evalf(20))), abs(complex(b.subs(point).evalf(20))))
        return abs(complex(v)) <= 1e-25 * scale
    except Exception:  # noqa: BLE001 - a point outside the domain proves nothing
        return None


def _numerically_zero(diff, a, b) -> bool:
    try:
        v = diff.evalf(50)
        if v == 0:
            return True
        if not v.is_number or v.has(sympy.nan, sympy.zoo):
            return False
        scale = max(1.0, abs(complex(a.evalf(20))), abs(complex(b.evalf(20))))
        return abs(complex(v)) <= 1e-40 * scale
    except Exception:  # noqa: BLE001
        return False


def _exactly_zero_or_unknown(diff) -> bool:
    """Numerically zero to 40 digits: trust it unless SymPy can prove the difference is non-zero."""
    try:
        return diff.is_zero is not False
    except Exception:  # noqa: BLE001
        return True
