"""Reading math that people and models type (LaTeX or plain text) into SymPy.

`read_math("2x + 3 = 7")`, `read_math(r"\\frac{1}{2}")`, `read_math("x = ±2")`, `read_math("$1,000")`
all give a `Math` value: a SymPy expression or set, a `Relation` (`=`, `<`, ... possibly chained), or
`Alternatives` (`x = 2 or x = -2`, `2, 3`). LaTeX goes through math-verify's LaTeX parser (its
signal-based timeout off: callers run this in a worker process with their own deadline); plain
text through a small whitelisting tokenizer that writes SymPy calls, so student input is never
handed to `eval` as typed. Every symbol comes out as a real, lower-case `Symbol(name, real=True)`, whichever
path read it, so readings compare with each other.

Normalisation (documented in the README): `$`/`\\$` currency signs, thousands separators
(`1,000`), `%`, degrees and trailing unit words (`5 cm`, `12 apples`) are dropped; decimals are
exact rationals (`0.5` is 1/2, `0.33` is 33/100, never 1/3).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Union

import sympy
from sympy import Basic, Float, Rational, Symbol

MAX_CHARS = 2000  # longer input is refused before any parsing

logging.getLogger("math_verify").setLevel(logging.ERROR)
logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)


class Unreadable(ValueError):
    """The text could not be read as math; the message says why, in words for a student."""


class TooLarge(Unreadable):
    """The input is well-formed but its numbers are too big to compute with."""


@dataclass(frozen=True)
class Relation:
    """`a = b`, `a < b`, or a chain `a = b = c`: len(ops) == len(sides) - 1."""
    sides: tuple
    ops: tuple

    def __str__(self) -> str:
        out = str(self.sides[0])
        for op, side in zip(self.ops, self.sides[1:]):
            out += f" {op} {side}"
        return out


@dataclass(frozen=True)
class Alternatives:
    """Several answers at once: `x = 2 or x = -2`, `x = ±2`, `2, 3`."""
    items: tuple

    def __str__(self) -> str:
        return " or ".join(str(i) for i in self.items)


Math = Union[Basic, Relation, Alternatives]

# --- plain text ---------------------------------------------------------------------------------
_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u00d7": "*", "\u22c5": "*", "\u00b7": "*", "\u00f7": "/",
    "\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u03c0": "pi", "\u221a": "sqrt", "\u00b1": "+-",
    "\u00b2": "^2", "\u00b3": "^3", "\u221e": "oo", "\u00b0": "", "\u2208": "=",
}
_FUNCS = {
    "sqrt": sympy.sqrt, "cbrt": sympy.cbrt, "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
    "cot": sympy.cot, "sec": sympy.sec, "csc": sympy.csc, "asin": sympy.asin, "acos": sympy.acos,
    "atan": sympy.atan, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh, "log": sympy.log, "ln": sympy.log,
    "exp": sympy.exp, "abs": sympy.Abs, "floor": sympy.floor, "ceil": sympy.ceiling,
    "factorial": sympy.factorial,
}
_CONSTS = {"pi": sympy.pi, "e": sympy.E, "oo": sympy.oo, "inf": sympy.oo, "infinity": sympy.oo,
           "infty": sympy.oo}
_GREEK = ("alpha", "beta", "gamma", "delta", "theta", "lambda", "mu", "phi", "omega", "sigma", "tau")
_KNOWN = sorted(list(_FUNCS) + list(_CONSTS) + list(_GREEK), key=len, reverse=True)
_TOKEN_RE = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+(?![\d.]))?|\.\d+)|([A-Za-z]+)|(\*\*|[-+*/^(),!|]))")
_THOUSANDS_RE = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?![\d,])")
# Unit words after a number: any word of 2+ letters after a space (`12 apples`), or a common unit
# glued to the number (`5cm`); `2ex` stays 2*e*x.
_UNITS = "cm|mm|km|m2|cm2|kg|mg|ml|mph|ft|hrs|hr|min|mins|sec|secs|lb|lbs|oz|cents|dollars|degrees|deg|units"
_UNIT_TAIL_RE = re.compile(r"(?:(?<=\s)|(?<=[\d)])(?=(?:" + _UNITS + r")\b))\s*(?:[A-Za-z]{2,}\.?(?:\^?\d)?"
                           r"(?:\s*/\s*[A-Za-z]+(?:\^?\d)?)?\s*)+$")
_FUNCTION_NAMES = ("f", "g", "h")
_NAMESPACE = {"Integer": sympy.Integer, "Rational": Rational, "Symbol": Symbol, "Abs": sympy.Abs,
              "Function": sympy.Function, **_FUNCS, **_CONSTS,
              "__builtins__": {}}
_EMPTY_RE = re.compile(r"^(?:there\s+(?:is|are)\s+)?(?:no\s+(?:real\s+)?(?:solutions?|roots?|answers?)|none|"
                       r"\{\s*\}|\u2205|empty\s+set)$", re.IGNORECASE)
_MIXED_RE = re.compile(r"^(-?)\s*(\d+)\s+(\d+)\s*/\s*(\d+)$")
_ANSWER_PREFIX_RE = re.compile(r"^(?:the\s+)?(?:final\s+)?answer\s*(?:is\b|:)\s*", re.IGNORECASE)
_REL_RE = re.compile(r"<=|>=|!=|=>|=<|==|=|<|>")
_REL_NORMAL = {"==": "=", "=>": ">=", "=<": "<="}
_WORD_SEP_RE = re.compile(r"\s+(?:or|and)\s+|;", re.IGNORECASE)


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
    readers = (_read_latex, _read_plain) if latexy else (_read_plain,)
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


def _read_plain(text: str) -> Math:
    s = text
    for k, v in _UNICODE.items():
        s = s.replace(k, v)
    s = s.replace("\\$", "").replace("\\%", "").replace("$", "").replace("%", "")
    s = _THOUSANDS_RE.sub(lambda m: m.group(1).replace(",", ""), s)
    s = _ANSWER_PREFIX_RE.sub("", s.strip().rstrip(".").strip())
    if not s:
        raise Unreadable("there is nothing to read")
    if _EMPTY_RE.match(s):
        return sympy.S.EmptySet
    pieces = _split_top(s)
    if len(pieces) == 1:
        return _read_piece(pieces[0])
    items = [_read_piece(p) for p in pieces]
    first = items[0]
    if isinstance(first, Relation) and first.ops == ("=",) and isinstance(first.sides[0], Symbol) and all(
            isinstance(i, sympy.Expr) and not i.free_symbols for i in items[1:]):
        # `x = 3, 2` lists two values of x
        items[1:] = [Relation((first.sides[0], i), ("=",)) for i in items[1:]]
    return Alternatives(tuple(items))


def _split_top(s: str) -> list[str]:
    """Split on `or`/`and`/`;` and on commas that are not inside brackets."""
    out: list[str] = []
    for part in _WORD_SEP_RE.split(s):
        depth, start = 0, 0
        for i, c in enumerate(part):
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif c == "," and depth == 0:
                out.append(part[start:i])
                start = i + 1
        out.append(part[start:])
    pieces = [p.strip() for p in out]
    if any(not p for p in pieces):
        raise Unreadable("there is an empty part between commas or 'or'")
    return pieces


def _read_piece(s: str) -> Math:
    if "+-" in s:  # x = 3 ± 2: both signs
        return Alternatives((_read_piece(s.replace("+-", "+", )), _read_piece(s.replace("+-", "-"))))
    parts = _REL_RE.split(s)
    if len(parts) == 1:
        return _read_side(s)
    ops = tuple(_REL_NORMAL.get(op, op) for op in _REL_RE.findall(s))
    if any(not p.strip() for p in parts):
        raise Unreadable("one side of the relation is empty")
    return Relation(tuple(_read_side(p.strip()) for p in parts), ops)


def _read_side(s: str) -> Basic:
    """A value, or a set `{1, 2}`, interval `[1, 2)` or point `(1, 2)`."""
    if s.startswith("{") and s.endswith("}"):
        return sympy.FiniteSet(*[_read_value(p) for p in _split_top(s[1:-1])])
    if s[0] in "([" and s[-1] in ")]" and _closes_at_end(s):
        inner = _split_top(s[1:-1])
        if len(inner) >= 2:
            values = [_read_value(p) for p in inner]
            if len(values) == 2 and (s[0] == "[" or s[-1] == "]"):
                return sympy.Interval(values[0], values[1], left_open=s[0] == "(", right_open=s[-1] == ")")
            return sympy.Tuple(*values)
    return _read_value(s)


def _closes_at_end(s: str) -> bool:
    depth = 0
    for i, c in enumerate(s):
        depth += c in "([{"
        depth -= c in ")]}"
        if depth == 0 and i < len(s) - 1:
            return False
    return True


def _read_value(s: str) -> Basic:
    s = s.strip()
    tail = _UNIT_TAIL_RE.search(s) if re.search(r"\d", s) else None
    if tail and not any(w.lower() in _KNOWN for w in re.findall(r"[A-Za-z]+", tail.group(0))):
        s = s[:tail.start()].strip()  # `5 cm`, `12 apples`: a unit, not a product of letters
    mixed = _MIXED_RE.match(s)
    if mixed:  # 4 2/3 is four and two thirds, not 4 * 2/3
        sign, whole, num, den = mixed.groups()
        s = f"{sign}({whole} + {num}/{den})"
    code = _to_python(s)
    try:
        # Unevaluated first: `10^10^10^10` must be measured (see `evaluate`) before SymPy tries it.
        with sympy.evaluate(False):
            value = eval(code, _NAMESPACE)  # noqa: S307 - code is built from whitelisted tokens only
    except (TypeError, SyntaxError, ValueError, ZeroDivisionError, AttributeError) as exc:
        raise Unreadable(f"'{s}' could not be read as math") from exc
    if not isinstance(value, Basic):
        raise Unreadable(f"'{s}' could not be read as math")
    return value


def _to_python(s: str) -> str:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN_RE.match(s, pos)
        if not m or m.end() == pos:
            if s[pos:].strip() == "":
                break
            bad = s[pos:].lstrip()[:1]
            raise Unreadable(f"the character '{bad}' is not something I can read in math")
        pos = m.end()
        if m.group(1):
            tokens.append(("num", m.group(1)))
        elif m.group(2):
            tokens.extend(_split_name(m.group(2)))
        else:
            tokens.append(("op", m.group(3)))
    if not tokens:
        raise Unreadable("there is nothing to read")
    out: list[str] = []
    prev: tuple[str, str] | None = None
    abs_open = 0
    pending_wrap = 0  # a function written without brackets (`sqrt 8`, `sin x`) takes one atom
    for i, (kind, val) in enumerate(tokens):
        atom_start = kind in ("num", "sym", "const", "func") or (kind == "op" and val == "(")
        if val == "|":
            opening = prev is None or (prev[0] == "op" and prev[1] not in (")", "!", "|")) or prev[0] == "func"
            if opening or abs_open == 0:
                if prev is not None and _ends_atom(prev):
                    out.append("*")
                out.append("Abs(")
                abs_open += 1
            else:
                out.append(")")
                abs_open -= 1
            prev = ("op", "(" if opening else ")")
            continue
        if atom_start and prev is not None and _ends_atom(prev):
            out.append("*")
        if kind == "sym" and val in _FUNCTION_NAMES and tokens[i + 1:i + 2] == [("op", "(")]:
            out.append(f"Function({val!r})")  # f(x), g(4): function notation, not f times x
            prev = ("func", val)
            continue
        if kind == "num":
            out.append(_number(val))
        elif kind == "sym":
            out.append(f"Symbol({val!r})")
        elif kind == "const":
            out.append(val)
        elif kind == "func":
            out.append(val)
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is None:
                raise Unreadable(f"'{val}' needs something to act on")
            if nxt != ("op", "("):
                out.append("(")
                pending_wrap += 1
                prev = ("op", "(")
                continue
        elif val == "^":
            out.append("**")
        elif val == "!":
            out.append("!")  # rewritten below
        else:
            out.append(val)
        if pending_wrap and kind in ("num", "sym", "const"):
            out.append(")" * pending_wrap)
            pending_wrap = 0
            prev = ("op", ")")
            continue
        prev = (kind, val)
    if abs_open or pending_wrap:
        raise Unreadable("a bracket or absolute-value bar is not closed")
    return _factorials("".join(out))


def _ends_atom(tok: tuple[str, str]) -> bool:
    kind, val = tok
    return kind in ("num", "sym", "const") or (kind == "op" and val in (")", "!"))


def _split_name(name: str) -> list[tuple[str, str]]:
    if len(name) >= 4 and name.lower() not in _FUNCS and name.lower() not in _CONSTS and name not in _GREEK \
            and not any(k in name.lower() for k in _FUNCS if len(k) >= 3):
        raise Unreadable(f"'{name}' reads as a word, not as math")
    out: list[tuple[str, str]] = []
    i = 0
    low = name.lower() if name.lower() in _FUNCS else name
    while i < len(low):
        for known in _KNOWN:
            if low.startswith(known, i):
                kind = "func" if known in _FUNCS else "const" if known in _CONSTS else "sym"
                out.append((kind, known))
                i += len(known)
                break
        else:
            out.append(("sym", low[i]))
            i += 1
    return out


def _number(val: str) -> str:
    if len(val.replace(".", "")) > 4000:
        raise TooLarge("a number in it is too long to check")
    mantissa, _, exponent = val.lower().partition("e")
    if exponent:  # scientific notation, as Python prints it: 1.5e+03
        if abs(int(exponent)) > 1000:
            raise TooLarge("a number in it is too large to work with")
        return f"({_number(mantissa)}*Integer(10)**Integer({int(exponent)}))"
    if "." in val:
        whole, frac = val.split(".")
        if not frac:
            return f"Integer({int(whole or '0')})"
        return f"Rational({int((whole or '0') + frac)}, {10 ** len(frac)})"
    return f"Integer({int(val)})"


def _factorials(code: str) -> str:
    while "!" in code:
        i = code.index("!")
        if i > 0 and code[i - 1] == ")":
            depth, j = 0, i - 1
            while j >= 0:
                depth += code[j] == ")"
                depth -= code[j] == "("
                if depth == 0:
                    break
                j -= 1
            while j > 0 and (code[j - 1].isalpha()):
                j -= 1  # include the function or constructor name: Integer(5)!
            code = code[:j] + "factorial(" + code[j:i] + ")" + code[i + 1:]
        else:
            raise Unreadable("'!' must follow a number or a bracket")
    return code


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


# --- finding math in prose ----------------------------------------------------------------------
_LATEX_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_PLAIN_RUN_RE = re.compile(
    r"(?:\b[A-Za-z]\s*(?:=|<=|>=|<|>)\s*)?[-(\u221a]*(?:\d|\u03c0|sqrt|\b[a-z]\b)[\d\s+\-*/^().,\u221a\u03c0=a-z]*")
_LIST_MARKER_RE = re.compile(r"(?im)(?:^\s*\d+[.):]\s)|\b(?:step|part|rung|level|hint)\s+\d+\b")


def find_math(text: str, limit: int = 200) -> list[str]:
    """Candidate math snippets in prose: LaTeX spans, `\\boxed{}`, plain `x = 3`, `2/3`, `sqrt(8)`."""
    from tutor.solver.answers import last_boxed

    found: list[str] = []
    boxed = last_boxed(text)
    if boxed:
        found.append(boxed)
    rest = _LATEX_SPAN_RE.sub(lambda m: (found.append(next(g for g in m.groups() if g)), " ; ")[1], text)
    rest = _LIST_MARKER_RE.sub(" ", rest)
    for m in _PLAIN_RUN_RE.finditer(rest):
        # prose inside a run ("14 is 7") separates candidates
        for run in re.split(r"\s[a-z]{2,}\b", m.group(0)):
            run = run.strip().rstrip(".,;:=").strip()
            if not run or not re.search(r"[\d\u03c0]|sqrt|[a-z]\s*[-+*/^=]", run):
                continue
            found.append(run)
            if "," in run:
                found.extend(p.strip() for p in run.split(",") if p.strip())
    return found[:limit]
