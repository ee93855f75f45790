"""Checking one line of a student's work, run only inside the checking workers (`tutor.checking.workers`).

Callers use `tutor.checking.steps`, which sends `check` here; what a valid line is, and the mistakes
a reason names, are in its docstring. Imports SymPy at the top: no module the web process imports
may import this one.
"""

from __future__ import annotations

import re

import sympy

from tutor.checking import mathtext
from tutor.checking.grading_engine import expr_equal, relation_set
from tutor.checking.mathtypes import Alternatives, Relation, Unreadable
from tutor.checking.problemmath import calls, definitions, evaluation_claim, problem_math, problem_readings, substitute

_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def warm_up() -> None:
    """Run at worker start, so the first real call does not pay for SymPy's caches."""
    check("x = 2", "x^2 - 4 = 0", None)
    check("x > -3", "-2x < 6", None)


_CONNECTIVE_RE = re.compile(
    r"^\s*(?:=>|->|\u21d2|\u2192|\u2234|\\Rightarrow|\\implies|\\Longrightarrow|\\therefore|"
    r"(?:so|then|therefore|thus|hence)\b,?)\s*", re.IGNORECASE)


def check(line: str, previous: str | None, problem: str | None) -> tuple[str, str]:
    """(verdict, reason) for one line; never raises."""
    try:
        return _check_line(line, previous, problem)
    except MemoryError:
        return "unreadable", "the numbers in this line are too large to work with"
    except RecursionError:
        return "unreadable", "this line is nested too deeply to check"
    except Exception as exc:  # noqa: BLE001 - SymPy raises many kinds; the student gets a plain answer
        return "unreadable", f"SymPy could not check this line ({type(exc).__name__}); try writing it more simply"


def _check_line(line: str, previous: str | None, problem: str | None) -> tuple[str, str]:
    text = _CONNECTIVE_RE.sub("", line.replace("&", " ")).strip()
    previous = _CONNECTIVE_RE.sub("", previous.replace("&", " ")).strip() if previous else previous
    continuation = text.startswith("=") and not text.startswith("==")
    try:
        cur = mathtext.read_math(text.lstrip("=").strip() if continuation else text)
    except Unreadable as exc:
        return "unreadable", f"could not read this line: {exc}"
    ctx, ctx_raw, name = None, None, "the previous line"
    if previous:
        try:
            ctx = mathtext.read_math(previous)
            ctx_raw = mathtext.read_math(previous, raw=True)
        except Unreadable:
            ctx = None
    readings = problem_readings(problem) if problem else ()
    if ctx is None and problem:
        ctx, ctx_raw, name = (*problem_math(readings), "the problem")
    defs = definitions(*[r[0] for r in readings])
    if defs:  # f(4) = 3*4 + 2 = 14 with f(x) = 3x + 2 from the problem
        if evaluation_claim(cur, defs):
            cur = substitute(cur, defs)
            if not all(expr_equal(cur.sides[i], cur.sides[i + 1]) for i in range(len(cur.sides) - 1)):
                return "invalid", "the two sides are not equal: check how you substituted into the function"
            return "valid", "a correct evaluation of the function"
        cur = substitute(cur, defs)
        if definitions(ctx):
            ctx = ctx_raw = None  # a definition is not an equation to solve: check the line on its own
        elif calls(ctx, defs):
            ctx = ctx_raw = substitute(ctx, defs)
    if continuation:
        if ctx is None:
            return "unreadable", "this line starts with '=' but there is no line before it to continue"
        base = ctx.sides[-1] if isinstance(ctx, Relation) else ctx
        base_raw = ctx_raw.sides[-1] if isinstance(ctx_raw, Relation) else ctx_raw
        if not _is_expr(base) or not _is_expr(cur):
            return "unreadable", "a line starting with '=' should continue a calculation with one value"
        return _compare_exprs(base, base_raw, cur, "the line before")
    return _follows(cur, ctx, ctx_raw, name)


def _follows(cur, ctx, ctx_raw, name: str) -> tuple[str, str]:
    if isinstance(cur, Relation) and all(op == "=" for op in cur.ops):
        for i in range(1, len(cur.sides) - 1):  # in `x = 3 + 4 = 7` every link after the first must hold
            if not expr_equal(cur.sides[i], cur.sides[i + 1]):
                return "invalid", f"in this chain, part {i + 2} is not equal to part {i + 1}: check that calculation"
        if not any(_free(s) for s in cur.sides):
            if all(expr_equal(cur.sides[i], cur.sides[i + 1]) for i in range(len(cur.sides) - 1)):
                return "valid", "a correct calculation"
            return "invalid", "this calculation is not right: the two sides are not equal"
        if len(cur.sides) > 2:
            cur = Relation((cur.sides[0], cur.sides[-1]), ("=",))
        if expr_equal(cur.sides[0], cur.sides[1]):
            if _is_expr(ctx) and not any(expr_equal(ctx, s) for s in cur.sides):
                return "invalid", f"both sides are equal, but neither is equal to {name}"
            return "valid", "a correct rewriting: both sides are equal"
    if ctx is None:
        return "valid", f"read as {cur}; there is no earlier line, or equation in the problem, to check it against"
    if _is_expr(cur):
        if _is_expr(ctx):
            return _compare_exprs(ctx, ctx_raw, cur, name)
        if isinstance(ctx, Relation) and len(ctx.sides) == 2:
            p = ctx.sides[0] - ctx.sides[1]
            if any(expr_equal(s, cur) for s in ctx.sides) or _constant_ratio(cur, p):
                return "valid", f"a correct rewriting of {name}"
        return "invalid", f"this expression does not follow from {name}"
    if _is_expr(ctx):
        if isinstance(cur, Relation) and len(cur.sides) == 2 and expr_equal(ctx, cur.sides[0]):
            return _compare_exprs(ctx, ctx_raw, cur.sides[1], name)
        return "invalid", f"this does not follow from {name}, which is an expression, not an equation"
    if isinstance(cur, Relation) and cur.ops[0] != "=" or isinstance(ctx, Relation) and ctx.ops[0] != "=":
        return _compare_inequalities(ctx, cur, name)
    return _compare_equations(ctx, ctx_raw, cur, name)


def _compare_exprs(a, a_raw, b, name: str) -> tuple[str, str]:
    if expr_equal(a, b):
        return "valid", f"equal to {name}"
    if expr_equal(a, -b):
        return "invalid", f"a sign changed: this is the negative of {name}"
    for term in sympy.Add.make_args(sympy.expand(a)):
        if len(sympy.Add.make_args(sympy.expand(a))) > 1 and expr_equal(a - 2 * term, b):
            return "invalid", "a sign changed in one of the terms"
    for reason, candidate in _slips(a_raw):
        if expr_equal(candidate, b):
            return "invalid", reason
    if not _free(a) and not _free(b):
        return "invalid", "the arithmetic is not right: check the calculation"
    return "invalid", f"this is not equal to {name}"


def _slips(expr):
    """Typical wrong rewritings of `expr` (as typed): (reason, what the wrong step would give)."""
    if not isinstance(expr, sympy.Basic):
        return
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Mul):
            adds = [a for a in node.args if isinstance(a, sympy.Add)]
            if len(adds) == 1:
                rest = sympy.Mul(*[a for a in node.args if a is not adds[0]])
                terms = adds[0].args
                for k in range(len(terms)):
                    wrong = rest * terms[k] + sympy.Add(*[t for j, t in enumerate(terms) if j != k])
                    yield ("the factor outside the brackets must multiply every term inside them",
                           expr.xreplace({node: wrong}))
        if isinstance(node, sympy.Pow) and isinstance(node.base, sympy.Add) and node.exp == 2:
            wrong = sympy.Add(*[t ** 2 for t in node.base.args])
            yield ("squaring a sum is not the sum of the squares: a middle term is missing",
                   expr.xreplace({node: wrong}))


def _compare_equations(ctx, ctx_raw, cur, name: str) -> tuple[str, str]:
    p = _poly_form(ctx)
    q = _poly_form(cur)
    if p is not None and q is not None and _constant_ratio(q, p):
        return "valid", f"an equation equivalent to {name}"
    syms = sorted(_free_all(ctx) | _free_all(cur), key=str)
    s_ctx = _solutions(ctx, syms)
    s_cur = _solutions(cur, syms)
    if s_ctx is not None and s_cur is not None and s_ctx == s_cur:
        return "valid", f"an equation with the same solutions as {name}"
    lost = _nonempty(sympy.Complement(s_ctx, s_cur)) if s_ctx is not None and s_cur is not None else None
    extra = _nonempty(sympy.Complement(s_cur, s_ctx)) if s_ctx is not None and s_cur is not None else None
    one_var = s_ctx is not None and s_cur is not None
    if p is not None and q is not None:
        if isinstance(ctx, Relation) and len(ctx.sides) == 2 and (extra or not one_var):
            if _constant_ratio(q, ctx.sides[0] ** 2 - ctx.sides[1] ** 2):
                return "invalid", ("squaring both sides added a solution that does not satisfy "
                                   f"{name}; check each solution in the earlier equation")
        if lost and not extra and isinstance(lost, sympy.FiniteSet) and isinstance(s_cur, sympy.FiniteSet) \
                and s_cur != sympy.S.EmptySet and all(-v in s_cur for v in lost.args):
            return "invalid", "this step loses a solution: a square root can be positive or negative (±)"
        denominator = sympy.denom(sympy.together(p))
        if extra and isinstance(extra, sympy.FiniteSet) and _free(denominator) and any(
                sympy.simplify(denominator.subs(syms[0], v)) == 0 for v in extra.args):
            return "invalid", (f"clearing the denominator {denominator} adds a solution where {denominator} = 0, "
                               f"which {name} does not allow")
        if lost and _is_factored_zero(ctx):
            return "invalid", "this step loses a solution: when a product is 0, any one of its factors can be 0"
        divisor = sympy.factor(sympy.cancel(p / q))
        if _polynomial(divisor) and (lost or not one_var) and _has_real_zero(divisor, q):
            return "invalid", f"dividing by {divisor} loses a solution: {divisor} could be 0"
        factor = sympy.factor(sympy.cancel(q / p))
        if _polynomial(factor) and (extra or not one_var) and _has_real_zero(factor, p):
            return "invalid", f"multiplying by {factor} adds a solution where {factor} = 0 that {name} does not have"
        if isinstance(ctx_raw, Relation) and len(ctx_raw.sides) == 2:
            lhs_terms, rhs_terms = (sympy.Add.make_args(side) for side in ctx_raw.sides)
            flips = [p - 2 * t for t in lhs_terms if len(lhs_terms) > 1 or t != 0] + \
                    [p + 2 * t for t in rhs_terms if len(rhs_terms) > 1 or t != 0]
            if len(lhs_terms) + len(rhs_terms) > 2 and any(_constant_ratio(q, f) for f in flips):
                return "invalid", "a sign changed: moving a term to the other side of '=' changes its sign"
            for i, side in enumerate(ctx_raw.sides):
                other = ctx.sides[1 - i]
                for reason, wrong in _slips(side):
                    wrong_p = (wrong - other) if i == 0 else (other - wrong)
                    if _constant_ratio(q, sympy.expand(wrong_p)):
                        return "invalid", reason
    if lost and not extra:
        return "invalid", f"this step loses a solution of {name}"
    if extra and not lost:
        return "invalid", f"this step adds a solution that {name} does not have"
    return "invalid", f"this equation does not have the same solutions as {name}: check the arithmetic"


def _compare_inequalities(ctx, cur, name: str) -> tuple[str, str]:
    syms = sorted(_free_all(ctx) | _free_all(cur), key=str)
    s_ctx, s_cur = _solutions(ctx, syms), _solutions(cur, syms)
    if s_ctx is None or s_cur is None:
        return "invalid", f"could not compare this with {name}"
    if s_ctx == s_cur:
        return "valid", f"an inequality with the same solutions as {name}"
    if isinstance(cur, Relation) and len(cur.ops) == 1 and cur.ops[0] in _FLIP:
        flipped = Relation(cur.sides, (_FLIP[cur.ops[0]],))
        if _solutions(flipped, syms) == s_ctx:
            return "invalid", "multiplying or dividing by a negative number reverses the inequality sign"
    return "invalid", f"this does not have the same solutions as {name}"


def _poly_form(m):
    if isinstance(m, Relation) and len(m.sides) == 2 and m.ops[0] == "=" and _is_expr(m.sides[0]) and _is_expr(m.sides[1]):
        return m.sides[0] - m.sides[1]
    return None


def _solutions(m, syms):
    """Real solution set in the single variable, or None when it is not a one-variable question."""
    if len(syms) != 1:
        return None
    (x,) = syms
    try:
        if isinstance(m, Alternatives):
            parts = [_solutions(i, syms) for i in m.items]
            return None if any(p is None for p in parts) else sympy.Union(*parts)
        if isinstance(m, sympy.Set):  # a line that is a solution set: `{-2, 2}`, `no solution`
            return m
        if isinstance(m, sympy.Tuple) and len(m) == 2 and all(v.is_number for v in m.args):
            return sympy.Interval.open(*m.args)  # `(-2, 2)` after an inequality is an interval
        if isinstance(m, Relation):
            if m.ops == ("=",) and m.sides[0] == x and isinstance(m.sides[1], sympy.Set):
                return sympy.Intersection(m.sides[1], sympy.S.Reals)  # x ∈ {1, 2}
            if not all(_is_expr(side) for side in m.sides):
                return None
            result = relation_set(m, x)
            return None if result.has(sympy.ConditionSet) else result
    except (NotImplementedError, TypeError, ValueError):
        return None
    return None


def _constant_ratio(a, b) -> bool:
    try:
        if b == 0 or a == 0:
            return False
        r = sympy.cancel(sympy.together(a / b))
        return bool(r.is_number and r != 0 and r.is_finite)
    except (TypeError, ValueError, ZeroDivisionError):
        return False


def _has_real_zero(f, keep) -> bool:
    """Does `f` vanish for some real value where `keep` (the divided equation) does not already?"""
    syms = sorted(_free(f), key=str)
    if len(syms) != 1:
        return True
    try:
        zeros = sympy.solveset(f, syms[0], sympy.S.Reals)
    except (NotImplementedError, TypeError, ValueError):
        return True
    if isinstance(zeros, sympy.ConditionSet):
        return True
    if isinstance(zeros, sympy.FiniteSet):
        return any(sympy.simplify(keep.subs(syms[0], z)) != 0 for z in zeros.args)
    return zeros != sympy.S.EmptySet


def _polynomial(f) -> bool:
    syms = _free(f)
    return bool(syms) and f.is_polynomial(*syms)


def _is_factored_zero(m) -> bool:
    """`(x - 2)(x - 3) = 0`: a product of two or more non-constant factors set to zero."""
    if not isinstance(m, Relation) or len(m.sides) != 2:
        return False
    for a, b in (m.sides, m.sides[::-1]):
        if b == 0 and isinstance(a, sympy.Mul) and sum(1 for f in a.args if _free(f)) >= 2:
            return True
    return False


def _nonempty(s):
    return s if s is not None and s != sympy.S.EmptySet else None


def _is_expr(m) -> bool:
    return isinstance(m, sympy.Expr)


def _free(x) -> set:
    return set(getattr(x, "free_symbols", set()))


def _free_all(m) -> set:
    if isinstance(m, Relation):
        return set().union(*[_free(s) for s in m.sides])
    if isinstance(m, Alternatives):
        return set().union(*[_free_all(i) for i in m.items])
    return _free(m)
