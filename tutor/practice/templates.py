"""Variants without the model: a GSM8K problem's worked solution marks each computation
(`<<16-3-4=9>>`), so the solution is a program over the question's numbers. The numbers become symbols,
new ones are drawn, and the answer is computed twice: by SymPy from the whole expression, and by
replaying the solution's steps one by one in exact fractions. The template itself must first give back
the dataset's own answer from the original numbers; any disagreement discards the variant."""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass
from fractions import Fraction

_CALC = re.compile(r"<<([^=<>]+)=([^<>]+)>>")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")


@dataclass(frozen=True)
class TemplateVariant:
    text: str
    answer: str
    evidence: str


def _frac(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def _eval(expr: str) -> Fraction:
    """Exact arithmetic of + - * / and parentheses (the solution's own steps)."""
    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            a, b = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div) and b == 0:
                raise ZeroDivisionError
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(node.op), a / b if b else a)
        raise ValueError("not plain arithmetic")
    return walk(ast.parse(expr.replace(",", ""), mode="eval"))


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


class Template:
    """A GSM8K problem as a program over its numbers; raises ValueError when it cannot be one."""

    def __init__(self, question: str, solution: str, reference: str):
        import sympy

        self.question = re.sub(r"(?<=\d),(?=\d{3})", "", question)
        self.calcs = [(expr.strip(), res.strip()) for expr, res in _CALC.findall(solution)]
        if not self.calcs:
            raise ValueError("the solution marks no computations")
        self.slots = [(m.start(), m.end(), _frac(m.group())) for m in _NUMBER.finditer(self.question)]
        self.symbols: dict[Fraction, sympy.Symbol] = {}
        for _, _, value in self.slots:
            self.symbols.setdefault(value, sympy.Symbol(f"n{len(self.symbols)}"))
        results: dict[Fraction, sympy.Expr] = {}
        expr = None
        for calc, result in self.calcs:
            def swap(m: re.Match[str]) -> str:
                value = _frac(m.group())
                if value in self.symbols:
                    return f"({self.symbols[value]})"
                if value in results:
                    return f"({results[value]})"
                return m.group()
            expr = sympy.sympify(_NUMBER.sub(swap, calc.replace(",", "")), rational=True)
            results.setdefault(_frac(result), expr)
        self.expr = expr
        self.used = sorted(self.expr.free_symbols, key=str)
        if not self.used:
            raise ValueError("the answer does not depend on the question's numbers")
        self.reference = _frac(reference)
        original = {sym: value for value, sym in self.symbols.items()}
        if self._sympy({sym: original[sym] for sym in self.used}) != self.reference:
            raise ValueError("the template does not give back the dataset's answer")

    def _sympy(self, values: dict) -> Fraction:
        import sympy
        exact = {s: sympy.Rational(v.numerator, v.denominator) for s, v in values.items()}
        out = sympy.nsimplify(self.expr.subs(exact))
        return Fraction(int(out.p), int(out.q)) if out.is_Rational else Fraction(float(out))

    def _replayed(self, new: dict[Fraction, Fraction]) -> Fraction:
        """The solution's steps again, with each number swapped for its new value, in exact fractions."""
        carried: dict[Fraction, Fraction] = {}
        value = Fraction(0)
        for calc, result in self.calcs:
            def swap(m: re.Match[str]) -> str:
                old = _frac(m.group())
                repl = new.get(old, carried.get(old, old))
                return f"({repl.numerator}/{repl.denominator})"
            value = _eval(_NUMBER.sub(swap, calc.replace(",", "")))
            carried.setdefault(_frac(result), value)
        return value

    def variant(self, rng: random.Random, tries: int = 60) -> TemplateVariant | None:
        by_symbol = {sym: value for value, sym in self.symbols.items()}
        for _ in range(tries):
            new: dict[Fraction, Fraction] = {}
            for sym in self.used:
                old = by_symbol[sym]
                if old.denominator != 1 or old < 2:
                    continue            # keep 1s and decimals: they are usually "one each", "half", a rate
                lo, hi = max(2, int(old) // 2), max(3, int(old) * 2)
                new[old] = Fraction(rng.randint(lo, hi))
            if not new or all(new[k] == k for k in new) or len(set(new.values())) < len(new):
                continue
            try:
                first = self._sympy({sym: new.get(by_symbol[sym], by_symbol[sym]) for sym in self.used})
                second = self._replayed(new)
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if first != second:
                return None          # the two routes disagree: never shown
            if first <= 0 or (self.reference.denominator == 1 and first.denominator != 1):
                continue             # a word problem about eggs wants a whole, positive answer
            text = self._text(new)
            evidence = (f"template of the dataset solution ({len(self.calcs)} computed steps); original numbers give "
                        f"back the dataset's {_fmt(self.reference)}; new answer {_fmt(first)} by SymPy from "
                        f"{self.expr} and by replaying the steps in exact fractions")
            return TemplateVariant(text, _fmt(first), evidence)
        return None

    def _text(self, new: dict[Fraction, Fraction]) -> str:
        out, last = [], 0
        for start, end, value in self.slots:
            out.append(self.question[last:start])
            out.append(_fmt(new[value]) if value in new else self.question[start:end])
            last = end
        out.append(self.question[last:])
        return "".join(out)
