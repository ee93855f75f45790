"""Exact values of the calculations read from worked solutions, run only inside the checking workers
(`tutor.checking.workers`): every side of `12 - 3 = 9`, and the unknown of `360 = 3*_u`.

Callers use `tutor.checking.work`; the chains come from `tutor.checking.worklines`. Imports SymPy at
the top: no module the web process imports may import this one.
"""

from __future__ import annotations

import ast
from fractions import Fraction

import sympy

_U = sympy.Symbol("_u")
_MAX_EXPONENT = 64
_MAX_CHARS = 400


def warm_up() -> None:
    evaluate([(("12 - 3", "9"), False), (("360", "3*_u"), True)])


def evaluate(chains: list[tuple[tuple[str, ...], bool]]) -> list[tuple[list[Fraction | None], Fraction | None, bool]]:
    """For each chain (its sides, whether it has an unknown): each side's exact value (None when it
    cannot be read or holds the unknown), the unknown's value when one equation fixes it, and whether
    an equation in the unknown has no solution at all (`12 + x = 10 + x`)."""
    out = []
    for sides, has_unknown in chains:
        try:
            out.append(_chain(sides, has_unknown))
        except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError, SyntaxError):
            out.append(([None] * len(sides), None, False))
    return out


def _chain(sides: tuple[str, ...], has_unknown: bool) -> tuple[list[Fraction | None], Fraction | None, bool]:
    exprs = [_read(s) for s in sides]
    values = [_fraction(e) for e in exprs]
    unknown, contradiction = None, False
    if has_unknown:
        for a, b in zip(exprs, exprs[1:]):
            if a is None or b is None or not (a.has(_U) or b.has(_U)):
                continue
            difference = sympy.simplify(a - b)
            if not difference.has(_U):
                contradiction = difference != 0
                break
            roots = sympy.solve(difference, _U)
            if len(roots) == 1:
                unknown = _fraction(roots[0])
            break
    return values, unknown, contradiction


def _fraction(e) -> Fraction | None:
    if e is None or not isinstance(e, sympy.Expr) or e.free_symbols:
        return None
    e = sympy.nsimplify(e) if e.is_Float else e
    if not e.is_Rational:
        return None
    return Fraction(int(e.p), int(e.q))


def _read(text: str):
    """A side as an exact SymPy expression: decimals as rationals, only + - * / ** and brackets."""
    if len(text) > _MAX_CHARS:
        raise ValueError("too long")
    tree = ast.parse(text.strip(), mode="eval")
    return _node(tree.body)


def _node(n):
    if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool):
        return sympy.Rational(str(n.value))
    if isinstance(n, ast.Name) and n.id == "_u":
        return _U
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
        v = _node(n.operand)
        return -v if isinstance(n.op, ast.USub) else v
    if isinstance(n, ast.BinOp):
        a, b = _node(n.left), _node(n.right)
        if isinstance(n.op, ast.Add):
            return a + b
        if isinstance(n.op, ast.Sub):
            return a - b
        if isinstance(n.op, ast.Mult):
            return a * b
        if isinstance(n.op, ast.Div):
            if b == 0:
                raise ZeroDivisionError
            return a / b
        if isinstance(n.op, ast.Pow) and b.is_Integer and abs(int(b)) <= _MAX_EXPONENT:
            return a ** b
    raise ValueError(f"not arithmetic: {ast.dump(n)[:40]}")
