"""Reading plain, typed math (`2x + 3 = 7`, `sqrt(8)`, `x = 3 or x = -3`, `12 apples`) into SymPy.

A small whitelisting tokenizer writes SymPy calls, so student input is never handed to `eval` as
typed; implicit products (`2x`, `2(x + 1)`), function notation (`f(4)`), `|x|`, `n!`, mixed numbers
and unit words are handled here. `tutor.checking.mathtext.read_math` is the entry point.
"""

from __future__ import annotations

import re

import sympy
from sympy import Basic, Rational, Symbol

from tutor.checking.mathtypes import Alternatives, Math, Relation, TooLarge, Unreadable

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


def read_plain(text: str) -> Math:
    """Plain or Python-style text (`2x + 3 = 7`, `sqrt(8)`, `x = ±2`, `$1,000`) as a reading."""
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
