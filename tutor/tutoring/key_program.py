"""The model's executed program, read for the key: every computing assignment, return or printed
expression (and each intermediate product or quotient inside one) is a candidate step, wrapped in
`_tk_rec(id, ...)` so that running the program again records its value. Its words come from the
program's comments, the reasoning just before a one-step cell, or the code's own names and operations.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

REC = "_tk_rec"
MARKER = "__tutor_key_values__"

# Calls that only spell a constant (`Rational(1, 2)`) or make a symbol: givens, not steps.
_CONSTRUCTORS = {"Rational", "Fraction", "Integer", "Float", "Decimal", "S", "int", "float", "Symbol", "symbols",
                 "sympify", "nsimplify", "str", "list", "range", "dict", "set", "tuple"}
_OPS = {ast.Add: "+", ast.Sub: "−", ast.Mult: "×", ast.Div: "÷", ast.FloorDiv: "÷ (whole part of)",
        ast.Mod: "remainder after dividing by", ast.Pow: "^"}
_FAMILY = {ast.Add: "add", ast.Sub: "add", ast.Mult: "mul", ast.Div: "mul"}


@dataclass
class Candidate:
    id: int
    kind: str                    # assign | sub | return | print
    expr: str                    # the code that computes it
    words: str                   # the description
    cell: int
    order: int                   # position in the program (source order)
    reads: set[str] = field(default_factory=set)   # names it reads (for the dependency walk)
    calls: set[str] = field(default_factory=set)   # user functions it calls
    target: str = ""
    function: str = ""           # the user function it sits in ("" at top level)
    parent: int | None = None    # a sub-expression's enclosing candidate
    value: str | None = None
    number: float | None = None
    runs: int = 0



# --- words ---------------------------------------------------------------------------------------------

def name_words(name: str) -> str:
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").strip()
    return re.sub(r"\s+", " ", words) or name


_RANK = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.FloorDiv: 2, ast.Mod: 2, ast.Pow: 3}


def expr_words(node: ast.AST, top: bool = True) -> str:
    """The expression with names as words and operators as signs (what a student would write)."""
    if isinstance(node, ast.Name):
        return name_words(node.id)
    if isinstance(node, ast.Constant):
        return repr(node.value) if isinstance(node.value, str) else str(node.value)
    if isinstance(node, ast.BinOp):
        rank = _RANK.get(type(node.op), 0)

        def side(n: ast.AST, right: bool) -> str:
            inner = _RANK.get(type(n.op), 0) if isinstance(n, ast.BinOp) else 9
            # brackets only where the order matters: a looser operation, or the same rank on the right
            bare = inner > rank or (inner == rank and not right and rank != 3)
            return expr_words(n, True) if bare else expr_words(n, False)
        return f"{side(node.left, False)} {_OPS.get(type(node.op), '?')} {side(node.right, True)}" if top else \
            f"({expr_words(node, True)})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"−{expr_words(node.operand, False)}"
    if isinstance(node, ast.Call):
        return _call_words(node)
    if isinstance(node, (ast.Tuple, ast.List)) and node.elts:
        return " and ".join(expr_words(e) for e in node.elts[:4])
    if isinstance(node, ast.Attribute):
        return name_words(node.attr)
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001 - words are a courtesy; the code is still there
        return "the expression"


# How the functions a solution program calls read in a description ({0}, {1}: the arguments' words).
_CALLS = {"sqrt": "the square root of {0}", "ceil": "{0}, rounded up", "floor": "{0}, rounded down",
          "round": "{0}, rounded", "abs": "the size of {0}", "sum": "the sum of {0}", "Eq": "{0} = {1}",
          "expand": "{0} multiplied out", "factor": "{0} factored", "simplify": "{0} simplified",
          "int": "{0} as a whole number", "float": "{0}", "Rational": "{0} ÷ {1}", "Fraction": "{0} ÷ {1}",
          "len": "how many {0}", "max": "the larger of {all}", "min": "the smaller of {all}"}


def _call_words(node: ast.Call) -> str:
    fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    args = [expr_words(a) for a in node.args[:3]]
    if fn in ("solve", "solveset", "nsolve") and args:
        first = node.args[0]
        # an expression is solved as "... = 0"; an equation (Eq, or a name holding one) as it stands
        equation = args[0] if isinstance(first, (ast.Name, ast.List, ast.Tuple)) or (
            isinstance(first, ast.Call) and getattr(first.func, "id", "") == "Eq") else f"{args[0]} = 0"
        return f"solve {equation}" + (f" for {args[1]}" if len(args) > 1 else "")
    template = _CALLS.get(fn)
    if template is not None and len(args) >= template.count("{") - template.count("{all}"):
        return template.format(*args, all=" and ".join(args))
    return f"{name_words(fn)} of {', '.join(args)}" if args else name_words(fn)


def _comment_above(lines: Sequence[str], lineno: int) -> str:
    """A `# comment` on the line itself or on the lines just above it."""
    if 0 < lineno <= len(lines) and "#" in lines[lineno - 1]:
        tail = lines[lineno - 1].split("#", 1)[1].strip()
        if len(tail) > 12 and re.search(r"[A-Za-z]{3}", tail) and not re.fullmatch(r"[\w\s/]{1,15}", tail):
            return tail
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith("#"):
        text = lines[i].strip().lstrip("#").strip()
        if text:
            return text
        i -= 1
    return ""


# --- finding candidates ----------------------------------------------------------------------------------

def _is_given(node: ast.AST) -> bool:
    """A literal quantity from the problem (`16`, `-3`, `0.6`, `Rational(1, 2)`, `1/3`), not a computation."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and all(
            isinstance(n, ast.Constant) for n in (node.left, node.right)):
        return True
    if isinstance(node, ast.Call):
        fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        return fn in _CONSTRUCTORS and all(_is_given(a) or isinstance(a, ast.Constant) for a in node.args)
    return False


def _computes(node: ast.AST) -> bool:
    """Does this expression do arithmetic or algebra (rather than name, quote or build something)?"""
    if _is_given(node) or isinstance(node, (ast.Name, ast.Attribute, ast.Lambda, ast.JoinedStr, ast.Dict,
                                            ast.Set, ast.List, ast.Tuple, ast.Compare, ast.BoolOp)):
        return False
    if isinstance(node, ast.Call):
        fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if fn in ("symbols", "Symbol", "print", "input", "open", "range", "str"):
            return False
    return True


class _Finder(ast.NodeTransformer):
    """Wraps every candidate in `_tk_rec(id, ...)` so that running the program records its value."""

    def __init__(self, cell: int, source: str, start: int, user_functions: set[str], reasoning: str):
        self.cell, self.lines, self.next_id = cell, source.splitlines(), start
        self.user_functions = user_functions
        self.reasoning = reasoning
        self.found: list[Candidate] = []
        self.function = ""

    def _new(self, kind: str, node: ast.AST, lineno: int, target: str = "", parent: int | None = None) -> Candidate:
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        calls = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                 and n.func.id in self.user_functions}
        words = expr_words(node)
        comment = _comment_above(self.lines, lineno) if kind != "sub" else ""
        if comment:
            desc = comment[0].upper() + comment[1:]
        elif words.startswith("solve "):
            desc = "S" + words[1:]
        elif target and kind != "sub":
            desc = f"Work out {target if len(target) == 1 else 'the ' + name_words(target)}: {words}"
        else:
            desc = f"Work out {words}"
        try:
            code = ast.unparse(node)
        except Exception:  # noqa: BLE001
            code = words
        c = Candidate(self.next_id, kind, code, desc.rstrip("."), self.cell, self.next_id,
                      reads - {REC}, calls, target, self.function, parent)
        self.next_id += 1
        self.found.append(c)
        return c

    def _wrap(self, node: ast.expr, c: Candidate) -> ast.expr:
        return ast.Call(ast.Name(REC, ast.Load()), [ast.Constant(c.id), node], [])

    def _with_subs(self, node: ast.expr, parent_kind: str, lineno: int, target: str = "") -> ast.expr:
        """Record the intermediate results inside `node` (each product inside a sum, the first product of
        a chain of products), then `node` itself."""
        subs: list[tuple[ast.BinOp, ast.AST]] = []

        def visit(n: ast.AST, parent: ast.AST | None) -> None:
            for child in ast.iter_child_nodes(n):
                visit(child, n)
            if n is node or not isinstance(n, ast.BinOp) or _is_given(n):
                return
            same_family = (isinstance(parent, ast.BinOp)
                           and _FAMILY.get(type(parent.op)) == _FAMILY.get(type(n.op)) is not None)
            # a sum of three things is one step; a product of three things is two (sprints per week first)
            if same_family and _FAMILY.get(type(n.op)) == "add":
                return
            subs.append((n, parent))

        visit(node, None)
        parent_c = self._new(parent_kind, node, lineno, target)
        replaced: dict[int, ast.expr] = {}
        for sub, _ in subs:
            c = self._new("sub", sub, lineno, parent=parent_c.id)
            c.order = parent_c.order - 0.5 + len(replaced) * 0.01   # before its parent, inner ones first
            replaced[id(sub)] = self._wrap(sub, c)

        class _Swap(ast.NodeTransformer):
            def generic_visit(self, n):  # type: ignore[override]
                n = super().generic_visit(n)
                return replaced.get(id(n), n)

        # swap innermost first: generic_visit rebuilds children before their parent is replaced
        node = _Swap().visit(node) if replaced else node
        return self._wrap(node, parent_c)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        target = node.targets[0]
        if isinstance(target, ast.Name) and _computes(node.value):
            calls_user = isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") in self.user_functions
            if not calls_user:
                node.value = self._with_subs(node.value, "assign", node.lineno, target.id)
                return node
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if isinstance(node.target, ast.Name) and node.value is not None and _computes(node.value):
            node.value = self._with_subs(node.value, "assign", node.lineno, node.target.id)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        if not isinstance(node.target, ast.Name):
            return node
        whole = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        c = self._new("assign", whole, node.lineno, node.target.id)
        c.reads |= {node.target.id}
        record = ast.Expr(self._wrap(ast.Name(node.target.id, ast.Load()), c))
        return [node, record]

    def visit_Return(self, node: ast.Return) -> ast.AST:
        if node.value is not None and _computes(node.value) and not (
                isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") in self.user_functions):
            node.value = self._with_subs(node.value, "return", node.lineno, self.function)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        call = node.value
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "print" and call.args:
            arg = call.args[-1]
            if _computes(arg) and not (isinstance(arg, ast.Call) and getattr(arg.func, "id", "") in self.user_functions):
                call.args[-1] = self._with_subs(arg, "print", node.lineno)
        return node


@dataclass
class Program:
    sources: list[str]           # the instrumented cells (None-free: a cell that does not parse is left out)
    candidates: list[Candidate]
    returns: dict[str, set[str]]  # user function -> names its return statements read


def instrument(cells: Sequence[str], reasoning: Sequence[str] = ()) -> Program:
    """Find the candidates in the executed cells and wrap each so the kernel records its value."""
    trees = []
    for src in cells:
        try:
            trees.append((src, ast.parse(src)))
        except SyntaxError:
            continue
    user_functions = {n.name for _, t in trees for n in ast.walk(t) if isinstance(n, ast.FunctionDef)}
    returns: dict[str, set[str]] = {}
    for _, tree in trees:
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for r in (n for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None):
                returns.setdefault(fn.name, set()).update(
                    n.id for n in ast.walk(r.value) if isinstance(n, ast.Name))
    sources: list[str] = []
    candidates: list[Candidate] = []
    for i, (src, tree) in enumerate(trees):
        finder = _Finder(i, src, len(candidates) + 1, user_functions, reasoning[i] if i < len(reasoning) else "")
        tree = ast.fix_missing_locations(finder.visit(tree))
        try:
            sources.append(ast.unparse(tree))
        except Exception:  # noqa: BLE001 - a cell we cannot rebuild still runs as written (unrecorded)
            sources.append(src)
            continue
        one = [c for c in finder.found if c.kind != "sub"]
        for c in finder.found:
            # the reasoning just before a cell that computes one thing names that thing
            if len(one) == 1 and c is one[0] and c.words.startswith("Work out") and finder.reasoning:
                c.words = finder.reasoning
        candidates += finder.found
    return Program(sources, candidates, returns)
