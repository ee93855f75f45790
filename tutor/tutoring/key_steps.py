"""The key's steps, read off the model's own executed program: each computing assignment, return or
printed expression (and each intermediate product or quotient inside one) is a candidate step whose
value the kernel computes when the program is run again with every candidate recorded.

Only the steps the final value depends on are kept, in the order the program computes them; their
words come from the program's comments, the reasoning just before a one-step cell, or the names and
operations of the code itself ("eggs per day − eggs eaten − eggs baked"), never from the value.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

log = logging.getLogger(__name__)

REC = "_tk_rec"
MARKER = "__tutor_key_values__"

# Calls that only spell a constant (`Rational(1, 2)`) or make a symbol: givens, not steps.
_CONSTRUCTORS = {"Rational", "Fraction", "Integer", "Float", "Decimal", "S", "int", "float", "Symbol", "symbols",
                 "sympify", "nsimplify", "str", "list", "range", "dict", "set", "tuple"}
_OPS = {ast.Add: "+", ast.Sub: "−", ast.Mult: "×", ast.Div: "÷", ast.FloorDiv: "÷ (whole part of)",
        ast.Mod: "remainder after dividing by", ast.Pow: "to the power"}
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


@dataclass(frozen=True)
class DerivedStep:
    description: str
    result: str
    expression: str


@dataclass(frozen=True)
class Derivation:
    steps: tuple[DerivedStep, ...]
    note: str                     # how the steps were found, for the key and the teacher
    candidates: int = 0           # computing statements seen before pruning


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
        fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        args = ", ".join(expr_words(a) for a in node.args[:3])
        return f"{name_words(fn)} of {args}" if args else name_words(fn)
    if isinstance(node, ast.Attribute):
        return name_words(node.attr)
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001 - words are a courtesy; the code is still there
        return "the expression"


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
        if kind == "sub":
            desc = f"Work out {words}"
        else:
            comment = _comment_above(self.lines, lineno)
            if comment:
                desc = comment[0].upper() + comment[1:]
            elif target:
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


# --- running it ------------------------------------------------------------------------------------------

_KERNEL_CODE = """\
def _tk_main(_cells, _marker):
    import contextlib as _cl, io as _io, json as _json
    _vals, _runs = {{}}, {{}}
    def _tk_rec(_i, _v):
        _vals[_i] = _v
        _runs[_i] = _runs.get(_i, 0) + 1
        return _v
    def _fmt(_v):
        if isinstance(_v, bool) or _v is None or isinstance(_v, str):
            return None
        if isinstance(_v, (list, tuple, set, frozenset)) or type(_v).__name__ == 'FiniteSet':
            _items = list(_v)
            if not _items or len(_items) > 6:
                return None
            _parts = [_fmt(_x) for _x in _items]
            return None if None in _parts else (_parts[0] if len(_parts) == 1 else ', '.join(_parts))
        if isinstance(_v, dict):
            if not _v or len(_v) > 6:
                return None
            return ', '.join(f'{{_k}} = {{_fmt(_x)}}' for _k, _x in _v.items())
        if isinstance(_v, float):
            _v = float(f'{{_v:.12g}}')   # 180 * 0.7 is 126, not 125.99999999999999
            return str(int(_v)) if _v.is_integer() else repr(_v)
        if isinstance(_v, int):
            return str(_v)
        if type(_v).__module__.split('.')[0] in ('sympy', 'fractions', 'decimal', 'numpy'):
            import sympy as _sp
            _e = _sp.sympify(_v)
            if isinstance(_e, _sp.Symbol) or getattr(_e, 'is_Boolean', False) and not isinstance(_e, _sp.Equality):
                return None
            if isinstance(_e, _sp.Equality):
                return _sp.latex(_e.lhs) + ' = ' + _sp.latex(_e.rhs)
            if isinstance(_e, _sp.Float):
                _e = _sp.nsimplify(_e) if float(_e).is_integer() else _e
            return _sp.latex(_e)
        return None
    def _num(_v):
        try:
            return float(_v)
        except Exception:
            return None
    _ns = {{'__name__': '__main__', '_tk_rec': _tk_rec}}
    _failed = []
    with _cl.redirect_stdout(_io.StringIO()), _cl.redirect_stderr(_io.StringIO()):
        for _n, _src in enumerate(_cells):
            try:
                exec(compile(_src, f'<cell {{_n}}>', 'exec'), _ns)
            except (Exception, SystemExit):
                _failed.append(_n)
    _out = {{}}
    for _i, _v in _vals.items():
        try:
            _s = _fmt(_v)
        except Exception:
            _s = None
        if _s is not None and len(_s) <= 300:
            _out[str(_i)] = [_s, _runs[_i], _num(_v)]
    print(_marker + _json.dumps({{'values': _out, 'failed': _failed}}))
_tk_main({cells!r}, {marker!r})
del _tk_main
"""


def record_values(program: Program, runner: Any, timeout: float = 30.0) -> list[int]:
    """Run the instrumented program in the kernel (a fresh namespace, so the session's own variables are
    untouched) and fill in each candidate's value. Returns the cells that failed."""
    if not program.sources or runner is None:
        return []
    data = None
    for attempt in range(2):   # a kernel that died under us is replaced by the pool: one more try
        try:
            res = runner.run(_KERNEL_CODE.format(cells=program.sources, marker=MARKER), timeout=timeout)
        except Exception:  # noqa: BLE001 - without values the key keeps fewer, uncomputed steps
            log.warning("recording the key's values failed (try %d)", attempt + 1, exc_info=True)
            continue
        line = next((ln for ln in reversed((res.stdout or "").splitlines()) if ln.startswith(MARKER)), None)
        if line is not None:
            try:
                data = json.loads(line[len(MARKER):])
            except ValueError:
                data = None
        break
    if not isinstance(data, dict):
        return list(range(len(program.sources)))
    values = data.get("values") or {}
    for c in program.candidates:
        got = values.get(str(c.id))
        if isinstance(got, list) and len(got) == 3 and isinstance(got[0], str):
            c.value, c.runs = got[0], int(got[1])
            c.number = got[2] if isinstance(got[2], (int, float)) else None
    return [int(n) for n in data.get("failed") or []]


# --- choosing the steps ------------------------------------------------------------------------------------

def _needed(program: Program, final: Candidate) -> list[Candidate]:
    """The final candidate and every candidate it depends on, by the names it reads (the latest assignment
    of a name before the reader, in its own function first) and the functions it calls (their returns)."""
    by_order = sorted(program.candidates, key=lambda c: c.order)
    keep: set[int] = set()
    todo = [final]
    while todo:
        c = todo.pop()
        if c.id in keep:
            continue
        keep.add(c.id)
        todo += [s for s in program.candidates if s.parent == c.id]
        names = set(c.reads)
        for fn in c.calls:
            names |= program.returns.get(fn, set())
            todo += [s for s in program.candidates if s.kind == "return" and s.function == fn]
        for name in names:
            earlier = [s for s in by_order if s.target == name and s.kind == "assign" and s.order < c.order]
            local = [s for s in earlier if s.function == c.function]
            pick = (local or earlier or [s for s in by_order if s.target == name and s.kind == "assign"])
            if pick:
                todo.append(pick[-1])
    return [c for c in by_order if c.id in keep]


def _same(a: str, b: str, timeout: float) -> bool:
    from tutor.checking.grader import grade

    if a.strip() == b.strip():
        return True
    try:
        return bool(grade(a, b, timeout=timeout).equivalent)
    except Exception:  # noqa: BLE001 - unreadable pairs count as different
        return False


def derive_steps(cells: Sequence[str], runner: Any, answer: str | None, *, max_steps: int, timeout: float,
                 reasoning: Sequence[str] = ()) -> Derivation:
    """Steps from the executed cells of the model's solution (see the module docstring)."""
    program = instrument(cells, reasoning)
    failed = record_values(program, runner)
    valued = [c for c in sorted(program.candidates, key=lambda c: c.order) if c.value is not None]
    seen = len([c for c in program.candidates if c.kind != "sub"])
    if not valued:
        why = "the program computed nothing that could be read back" if program.candidates else \
            "the program has no computing statement"
        return Derivation((), why + (f" (cells {failed} failed)" if failed else ""), seen)
    final = None
    if answer:
        for c in reversed(valued):
            if c.kind != "sub" and _same(answer, c.value or "", timeout):
                final = c
                break
    chosen = _needed(program, final) if final is not None else valued
    # a symbolic part of an expression (`2*x` inside `solve(2*x + 3 - 17, x)`) only writes the equation
    chosen = [c for c in chosen if c.value is not None and (c.kind != "sub" or c.number is not None)]
    steps: list[Candidate] = []
    for c in chosen:
        # the same value again (a sub-expression equal to its whole, `total = round(total)`) is one step:
        # keep the statement rather than the part
        prev = steps[-1] if steps else None
        if prev is not None and prev.value == c.value and (
                c.parent == prev.id or prev.parent == c.id or prev.target in c.reads):
            if c.kind != "sub":
                steps[-1] = c
            continue
        steps.append(c)
    if len(steps) > max_steps:
        # fold the inner products back into their statements first, then keep the last ones
        steps = [c for c in steps if c.kind != "sub" or c is final][-max_steps:]
    out = tuple(DerivedStep(_safe_words(c), c.value or "", c.expr) for c in steps)
    note = (f"{len(out)} step{'s' if len(out) != 1 else ''} from the model's executed program "
            f"({seen} computing statement{'s' if seen != 1 else ''}, values read back from the kernel)")
    if final is None:
        note += "; no computed value equals the answer, so a last step states it"
    elif len(out) == 1:
        note += "; the program computes the answer in one operation, so this problem is one step"
    return Derivation(out, note, seen)


def _safe_words(c: Candidate) -> str:
    """The description, unless it writes the step's own value (a comment like `# 16 - 3 - 4 = 9`)."""
    words = c.words
    if c.value and re.search(rf"(?<![\w.]){re.escape(c.value)}(?![\w.])", words):
        words = f"Work out {c.expr}" if not c.target else f"Work out the {name_words(c.target)}"
    return words[:300]


def reasoning_before_cells(text: str) -> list[str]:
    """The last sentence before each ```python block of the model's text (the words for a one-step cell)."""
    out = []
    for m in re.finditer(r"```python\n", text):
        before = text[: m.start()]
        before = before.rsplit("```", 1)[-1] if "```" in before else before
        sentences = [s.strip() for s in re.split(r"(?<=[.!?:])\s+|\n+", before) if s.strip()]
        last = sentences[-1].rstrip(":").strip() if sentences else ""
        out.append(last if 12 <= len(last) <= 200 and not re.search(r"\\boxed|\d{3,}", last) else "")
    return out
