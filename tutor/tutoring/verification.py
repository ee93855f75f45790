"""How the key's answer is confirmed, each route recorded with its outcome for the key and the teacher.

- `program`: the model writes a check program. It counts only when a comparison in it recomputes from
  the problem's own quantities and involves the proposed answer: `print(True)`, `print(x == x)` and
  `print(18 == 18)` do not count, whatever they print.
- `second_route`: an independent chain-of-thought solve; agreement is recorded (a backend that returns
  the very same text for it, e.g. a replay, is no second route).
- `substitution`: where the problem states an equation, the system puts the answer into it itself.
- `reference`: a teacher's reference answer agrees with the model's computed one.
"""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterable

from tutor.tutoring.quantities import as_number, numbers_in

log = logging.getLogger(__name__)

AGREES, DISAGREES, NOT_COUNTED, UNAVAILABLE = "agrees", "disagrees", "not counted", "unavailable"


@dataclass(frozen=True)
class Confirmation:
    method: str      # reference | program | second_route | substitution
    outcome: str     # agrees | disagrees | not counted | unavailable
    detail: str

    def words(self) -> str:
        return f"{self.method.replace('_', ' ')}: {self.outcome} ({self.detail})"

    def to_dict(self) -> dict[str, str]:
        return {"method": self.method, "outcome": self.outcome, "detail": self.detail}


def confirmed(checks: Iterable[Confirmation]) -> bool:
    """At least one route agrees and none disagrees."""
    outcomes = [c.outcome for c in checks]
    return AGREES in outcomes and DISAGREES not in outcomes


def summary(checks: Iterable[Confirmation]) -> str:
    checks = list(checks)
    if not checks:
        return "not checked"
    head = "confirmed" if confirmed(checks) else "not confirmed"
    return f"{head}: " + "; ".join(c.words() for c in checks)


# --- the model's check program -------------------------------------------------------------------------

def verify_question(problem: str, answer: str) -> str:
    return (f"Problem: {problem.strip()}\n\nProposed final answer: {answer}\n\n"
            "Write a Python program (you may use SymPy) that checks whether the proposed answer is correct "
            "WITHOUT repeating the same solution: substitute the answer back into the conditions of the "
            "problem, or compute the answer by a different method from the numbers in the problem and "
            "compare. The program must end by printing True if the proposed answer is correct and False if "
            "it is not.")


def _exact(value: Any) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None


class _Program:
    """Where each name and function of the check program gets its value, to follow a comparison back."""

    def __init__(self, tree: ast.Module):
        self.assigned: dict[str, list[ast.AST]] = {}
        self.returns: dict[str, list[ast.AST]] = {}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for name in (n for n in ast.walk(t) if isinstance(n, ast.Name)):
                        self.assigned.setdefault(name.id, []).append(node.value)
            elif isinstance(node, ast.FunctionDef):
                self.returns[node.name] = [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value]
            elif isinstance(node, (ast.For, ast.comprehension)):
                for name in (n for n in ast.walk(node.target) if isinstance(n, ast.Name)):
                    self.assigned.setdefault(name.id, []).append(node.iter)

    def constants(self, node: ast.AST, operated: bool = False, seen: set[str] | None = None) -> set[tuple[Fraction, bool]]:
        """(number, used in arithmetic or a call) for every constant this expression depends on."""
        seen = set() if seen is None else seen
        out: set[tuple[Fraction, bool]] = set()
        if isinstance(node, ast.Constant):
            v = _exact(node.value)
            return {(v, operated)} if v is not None else set()
        if isinstance(node, ast.Name):
            if node.id in seen:
                return out
            seen.add(node.id)
            for value in self.assigned.get(node.id, []):
                out |= self.constants(value, operated, seen)
            return out
        if isinstance(node, ast.Call):
            fn = getattr(node.func, "id", None)
            if fn and fn not in seen:
                seen.add(fn)
                for value in self.returns.get(fn, []):
                    out |= self.constants(value, True, seen)
            for arg in list(node.args) + [k.value for k in node.keywords]:
                out |= self.constants(arg, True, seen)
            return out
        inner = operated or isinstance(node, (ast.BinOp, ast.UnaryOp))
        for child in ast.iter_child_nodes(node):
            out |= self.constants(child, inner, seen)
        return out


def meaningful_check(cells: Iterable[str], problem: str, answer: str) -> tuple[bool, str]:
    """Does the check program compare something recomputed from the problem's quantities with the
    proposed answer (rather than print a constant or compare a value with itself)?"""
    source = "\n".join(cells)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False, "the check program does not parse"
    program = _Program(tree)
    quantities = set(numbers_in(problem))
    target = as_number(answer)
    compares = [n for n in ast.walk(tree) if isinstance(n, ast.Compare)]
    if not compares:
        return False, "it prints a verdict without comparing anything"
    why = "no comparison recomputes from the problem's numbers"
    for cmp in compares:
        sides = [cmp.left, *cmp.comparators]
        for left, right in zip(sides, sides[1:]):
            if ast.dump(left) == ast.dump(right):
                why = "it compares a value with itself"
                continue
            found = [program.constants(s) for s in (left, right)]
            if found[0] == found[1] and found[0]:
                why = "both sides of its comparison are the same numbers"
                continue
            recomputed = any(v in quantities and operated for side in found for v, operated in side)
            involves_answer = target is None or any(v == target for side in found for v, _ in side) or any(
                isinstance(n, ast.Name) and n.id.lower() in ("answer", "proposed", "proposed_answer", "ans")
                for s in (left, right) for n in ast.walk(s))
            if recomputed and involves_answer:
                return True, "it recomputes from the problem's numbers and compares with the proposed answer"
            why = ("it does not involve the proposed answer" if recomputed else
                   "no comparison recomputes from the problem's numbers")
    return False, why


def verdict_of(outputs: Iterable[Any]) -> tuple[bool | None, list[str]]:
    """True/False from the last program that ran cleanly and printed one; the cells that ran cleanly."""
    outputs = list(outputs)
    ran = [o.code for o in outputs if not o.error and not o.timed_out]
    for out in reversed(outputs):
        if out.error or out.timed_out:
            continue
        words = re.findall(r"\b(True|False)\b", out.stdout)
        if words:
            return words[-1] == "True", ran
    return None, ran


def program_check(problem: str, answer: str, turn: Any) -> Confirmation:
    """Judge the model's check turn (`turn.outputs`: the CodeOutput events it produced)."""
    verdict, ran = verdict_of(turn.outputs)
    if verdict is None:
        return Confirmation("program", UNAVAILABLE, "no check program ran and printed True or False"
                            + (f"; {turn.error}" if getattr(turn, "error", None) else ""))
    ok, why = meaningful_check(ran, problem, answer)
    if not ok:
        return Confirmation("program", NOT_COUNTED, f"it printed {verdict}, but {why}")
    return Confirmation("program", AGREES if verdict else DISAGREES,
                        f"printed {verdict}; {why}")


# --- a second route --------------------------------------------------------------------------------------

def second_route(answer: str, solved_text: str, turn: Any, same: Callable[[str, str], bool]) -> Confirmation:
    """Judge an independent chain-of-thought solve against the key's answer."""
    text = (getattr(turn, "text", "") or "").strip()
    if not text or turn.answer is None:
        return Confirmation("second_route", UNAVAILABLE, "the chain-of-thought solve gave no answer"
                            + (f" ({turn.error})" if getattr(turn, "error", None) else ""))
    if _normal(text) == _normal(solved_text) or _normal(text) in _normal(solved_text):
        return Confirmation("second_route", NOT_COUNTED, "the backend repeated the first solution word for word")
    if same(answer, turn.answer):
        return Confirmation("second_route", AGREES, f"a chain-of-thought solve also reaches {turn.answer}")
    return Confirmation("second_route", DISAGREES, f"a chain-of-thought solve reaches {turn.answer} instead")


def _normal(text: str) -> str:
    return " ".join(re.sub(r"```output.*?```", "", text, flags=re.S).split())


# --- substitution into the problem's equation ------------------------------------------------------------

def substitution(problem: str, answer: str, timeout: float) -> Confirmation | None:
    """Put the answer into the equation the problem states (None when it states no equation in one unknown)."""
    from tutor.checking.workers import WorkerError, get_pool

    try:
        holds = get_pool().call("tutor.tutoring.verification:_substitution_holds", problem, answer, timeout=timeout)
    except WorkerError as exc:
        return Confirmation("substitution", UNAVAILABLE, f"the checker could not run ({exc})")
    except Exception:  # noqa: BLE001 - a checker bug leaves this route out, never the key
        log.warning("substitution check failed", exc_info=True)
        return None
    if holds is None:
        return None
    equation, ok = holds
    return Confirmation("substitution", AGREES if ok else DISAGREES,
                        f"the answer {'satisfies' if ok else 'does not satisfy'} the problem's equation {equation}")


def _substitution_holds(problem: str, answer: str) -> tuple[str, bool] | None:
    """Worker side: (the equation, whether the answer satisfies it), or None when there is none to use."""
    import sympy

    from tutor.checking import mathtext, problemmath
    from tutor.checking.mathtypes import Alternatives, Relation, Unreadable

    reading = problemmath.problem_math(problemmath.problem_readings(problem))[0]
    if not isinstance(reading, Relation) or reading.ops != ("=",) or len(reading.sides) != 2:
        return None
    unknowns = set().union(*(problemmath.free(s) for s in reading.sides))
    if len(unknowns) != 1:
        return None
    x = unknowns.pop()
    try:
        got = mathtext.read_math(answer)
    except Unreadable:
        return None
    values = list(got.items) if isinstance(got, Alternatives) else [got]
    plain = []
    for v in values:
        if isinstance(v, Relation):
            if v.ops != ("=",) or v.sides[0] != x:
                return None
            v = v.sides[1]
        if not isinstance(v, sympy.Basic) or v.free_symbols:
            return None
        plain.append(v)
    lhs, rhs = reading.sides
    ok = all(sympy.simplify((lhs - rhs).subs(x, v)) == 0 for v in plain)
    return str(reading), bool(ok)
