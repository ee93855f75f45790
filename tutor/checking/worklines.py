"""Reading the math in one line of a student's worked solution: the calculations it claims
(`12 - 3 = 9`, `3 bids * $50 per bid = $150`, `width = 360/3 = 120 ft`, `\\frac{3}{4} \\times 20 = 15`)
and the other quantities it states ("so she made 3 bids in total").

Students write prose around their arithmetic, so the words between numbers and operators are units
or labels and are dropped; a word standing where a number would (`360 = 3 x width`) is an unknown.
No SymPy here: the chains are plain Python arithmetic that `tutor.checking.work_engine` evaluates
exactly in a worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tutor.checking.prose import latex_to_python

_SMALL = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_PARTS = {"half": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5}
_IDIOMS = {"twice": "2", "double": "2", "triple": "3", "dozen": "12", "half": "1/2", "quarter": "1/4"}
# Words that are operators when they stand between numbers.
_OPERATOR_WORDS = {"plus": "+", "minus": "-", "times": "*", "x": "*", "multiplied": "*", "divided": "/",
                   "over": "/", "equals": "=", "equal": "=", "of": "*"}
_SKIP_AFTER = {"multiplied": "by", "divided": "by", "equal": "to", "equals": "to"}
# Where a clause ends, a calculation ends ("... = $250, the third bid is ...").
_BREAK_WORDS = {"and", "so", "then", "which", "therefore", "thus", "but", "since", "because", "while", "if",
                "when", "or", "that", "for", "is", "are", "was", "were", "will", "has", "have", "gives", "makes"}
_STOP = {"the", "a", "an", "of", "to", "in", "on", "is", "are", "was", "were", "and", "so", "that", "it", "he", "she",
         "they", "we", "his", "her", "their", "for", "each", "per", "by", "with", "from", "this", "be", "will",
         "total", "then", "there", "have", "has", "had", "can", "which", "at", "as", "now", "i", "you", "our",
         "find", "need", "needs", "number", "amount", "therefore", "thus", "know", "us", "get", "gets", "all"}

_TOKEN_RE = re.compile(
    r"(?P<time>\b\d{1,2}:\d{2}\b)"
    r"|(?P<num>(?<![\d./])\d+/\d+(?![\d/]|\.\d)|(?:\$\s?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?%|\s?\\%)?|\$?\.\d+)"
    r"|(?P<op>[-+*/^=()\u00d7\u00f7\u2212\u22c5\u00b7])"
    r"|(?P<word>[A-Za-z][A-Za-z']*)"
    r"|(?P<brk>[,;:!?\n]|\.(?!\d))")
_LATEX_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\\\((.+?)\\\)|\\\[(.+?)\\\]|\$([^$]*\\[a-zA-Z][^$]*)\$", re.DOTALL)


@dataclass(frozen=True)
class Chain:
    """`a = b = c`: each side a Python arithmetic expression; `unknown` names the one letter or word
    that stands for a number in it (`360 = 3*width`), or is empty."""
    sides: tuple[str, ...]
    unknown: str = ""
    label: str = ""            # the words just before it ("the second bid is")


@dataclass(frozen=True)
class LineMath:
    index: int                 # 1-based, counting non-empty lines
    text: str
    chains: tuple[Chain, ...]
    numbers: tuple[str, ...]   # quantities stated outside any calculation, as exact Python numbers
    words: frozenset[str] = field(default_factory=frozenset)   # what the line talks about


def split_work(text: str) -> list[str]:
    """The non-empty lines of a worked solution (LaTeX `\\\\` breaks count as new lines)."""
    parts = re.split(r"\n|\\\\(?![a-zA-Z])", str(text or ""))
    return [p.strip().strip("&").strip() for p in parts if p.strip().strip("&").strip()]


def read_line(text: str, index: int = 1) -> LineMath:
    plain = _plain(text)
    chains: list[Chain] = []
    loose: list[str] = []
    for piece in _pieces(plain):
        found, rest = _chains(piece)
        chains += found
        loose += rest
    return LineMath(index, text, tuple(chains), tuple(loose), content_words(text))


def read_work(text: str) -> list[LineMath]:
    return [read_line(line, i + 1) for i, line in enumerate(split_work(text))]


def content_words(text: str) -> frozenset[str]:
    """The nouns and verbs a line uses, crudely stemmed, to tell what its quantities count."""
    words = set()
    for w in re.findall(r"[a-z]+", text.lower()):
        if len(w) > 2 and w not in _STOP and w not in _SMALL and w not in _TENS:
            words.add(w[:-1] if w.endswith("s") and not w.endswith("ss") else w)
    return frozenset(words)


def numbers_of(text: str) -> list[str]:
    """Every number a text states (digits, number words, "twice", "half", percentages also as
    fractions), as exact Python numbers: the problem's givens."""
    plain = _plain(text)
    out: list[str] = []
    for m in _TOKEN_RE.finditer(plain):
        if m.group("num"):
            out.append(_number(m.group("num")))
            if "%" in m.group("num"):
                out.append(_number(m.group("num").replace("%", "").replace("\\", "")))
    for a, b in re.findall(r"(\d+)\s*/\s*(\d+)", plain):
        if int(b):
            out.append(f"({a})/({b})")
    return out


def _plain(text: str) -> str:
    """LaTeX math and Unicode symbols as plain arithmetic; number words as digits."""
    s = _LATEX_SPAN_RE.sub(lambda m: " " + latex_to_python(next(g for g in m.groups() if g)) + " ", text)
    if "\\" in s:
        s = latex_to_python(s.replace("\\$", "$").replace("\\%", "%"))
    s = s.replace("\u2212", "-").replace("\u00d7", "*").replace("\u00f7", "/").replace("\u22c5", "*")
    s = s.replace("\u00b7", "*").replace("**", "^")
    s = re.sub(r"(?<=\d)\s*[xX]\s*(?=\$?\d|\()", " * ", s)       # 3x4, $2.00 x 20
    s = re.sub(r"(?<=[a-zA-Z])-(?=[a-zA-Z])", " ", s)              # hand-crank
    s = re.sub(r"(?<=\d)-?(?=[a-zA-Z])", " ", s)                   # 5cm, 3yards, a 27-pound pumpkin
    s = re.sub(r"(?<![\d.*/+-] )(?<![\d.*/+-])\b(\d+) (\d+)/(\d+)\b", r"(\1+\2/\3)", s)   # 1 1/2
    return _words_to_digits(s)


def _words_to_digits(s: str) -> str:
    s = re.sub(r"\b(one|two|three|a)[- ](half|third|thirds|quarter|quarters|fourth|fourths|fifth|fifths)\b",
               lambda m: f"{_SMALL.get(m.group(1).lower(), 1)}/{_PARTS[m.group(2).lower().rstrip('s')]}", s,
               flags=re.IGNORECASE)
    def number(m: re.Match) -> str:
        words = m.group(0).lower().replace("-", " ").split()
        total = 0
        for w in words:
            if w == "hundred":
                total = max(total, 1) * 100
            else:
                total += _SMALL.get(w, 0) + _TENS.get(w, 0)
        return str(total)

    names = "|".join(sorted(list(_SMALL) + list(_TENS), key=len, reverse=True))
    s = re.sub(rf"\b(?:{names})(?:[\s-]+(?:{names}|hundred))*\b", number, s, flags=re.IGNORECASE)
    s = re.sub(r"\b(\d+) and a half\b", lambda m: f"{m.group(1)}.5", s)
    s = re.sub(r"\ba (minute|hour|day|week|year|foot|mile|pound|cup|dollar) and a half\b", r"1.5 \1s", s)
    return re.sub(r"\b(?:twice|double|triple|dozen)\b",
                  lambda m: _IDIOMS[m.group(0).lower()], s, flags=re.IGNORECASE)


def _number(token: str) -> str:
    t = token.replace("$", "").replace(",", "").replace(" ", "").replace("\\", "")
    if "/" in t:
        return f"({t})"
    if t.endswith("%"):
        return f"(({t[:-1]})/100)"
    return t


def _pieces(text: str) -> list[list[tuple[str, str]]]:
    """The line as runs of (kind, token), split where a clause ends."""
    pieces: list[list[tuple[str, str]]] = [[]]
    tokens = [(m.lastgroup or "", m.group(0)) for m in _TOKEN_RE.finditer(text)]
    skip = ""
    for i, (kind, tok) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        piece = pieces[-1]
        if kind == "time":   # 6:00 + 48: clock arithmetic is not checked
            piece.append(("word", "?time"))
        elif kind == "word":
            low = tok.lower()
            if low == skip:
                skip = ""
                continue
            skip = _SKIP_AFTER.get(low, "")
            before = [t for t in piece[:-1] if t[0] != "word"]
            if piece and piece[-1] == ("op", "/") and before and before[-1][0] == "num" \
                    and nxt[0] != "num" and low not in _OPERATOR_WORDS:
                piece.pop()              # "3 ft/yd", "$5/hour", "4 stripes/shirt": a unit, not a division
                piece.append(("word", tok))
                continue
            after = tokens[i + 2] if low in _SKIP_AFTER and i + 2 < len(tokens) else nxt
            if low in _OPERATOR_WORDS and _between_numbers(piece, low) \
                    and (after[0] == "num" or low == "x" and after[0] == "word"):
                piece.append(("op", _OPERATOR_WORDS[low]))
                continue
            if low in _BREAK_WORDS and not _open(piece):
                pieces.append([])
                continue
            piece.append(("word", tok))
        elif kind == "brk":
            if tok == "," and _open(piece):
                continue
            pieces.append([])
        elif kind == "num":
            piece.append(("num", _number(tok)))
        else:
            piece.append(("op", {"\u00d7": "*", "\u00f7": "/", "\u2212": "-"}.get(tok, tok)))
    return [p for p in pieces if p]


def _open(piece: list[tuple[str, str]]) -> bool:
    """Does the run end in an operator, so the clause cannot end here? ("130 + x, so" ends at the x.)"""
    if piece and piece[-1][0] == "word" and len(piece[-1][1]) == 1:
        return False
    math = [t for t in piece if t[0] != "word"]
    return bool(math) and math[-1][0] == "op" and math[-1][1] not in ")"


def _between_numbers(piece: list[tuple[str, str]], word: str) -> bool:
    math = [t for t in piece if t[0] != "word"]
    if word == "of":  # "20% of 50", "1/2 of 10": only right after a percentage or fraction
        return bool(math) and math[-1][0] == "num" and ("/" in math[-1][1] or len(math) >= 2
                                                        and math[-2] == ("op", "/"))
    return bool(math) and (math[-1][0] == "num" or math[-1][1] == ")")


def _chains(piece: list[tuple[str, str]]) -> tuple[list[Chain], list[str]]:
    """Calculations (runs with `=` or an operator between numbers) and the loose numbers of one clause."""
    runs: list[tuple[list[str], str, str]] = []   # (tokens, unknown, label)
    cur: list[str] = []
    unknown, label_words = "", []
    prev_kind = ""
    gap = False   # words since the last math token: "(1+1/2) times the amount ... 1.5" is no product

    def close() -> None:
        nonlocal cur, unknown, prev_kind
        if cur:
            runs.append((cur, unknown, " ".join(label_words[-6:])))
        cur, unknown, prev_kind = [], "", ""

    for i, (kind, tok) in enumerate(piece):
        nxt = piece[i + 1] if i + 1 < len(piece) else ("", "")
        if kind == "word":
            if tok == "?time":
                unknown = "?"
                continue
            if prev_kind == "op" and cur and cur[-1] == "/" and len(cur) >= 2 and nxt[0] != "num":
                cur.pop()                           # "3 ft/yd", "$5/hour": a unit, not a division
                prev_kind = "num"
                continue
            is_unknown = (prev_kind == "op" and cur and cur[-1] != ")"
                          and (nxt[0] in ("op", "") and nxt[1] != "(")) \
                or (len(tok) == 1 and tok.lower() not in ("a", "i") and (prev_kind == "op" or nxt[0] == "op"))
            if is_unknown:
                if unknown and unknown != tok.lower():
                    unknown = "?"                   # two unknowns: not a calculation we can check
                unknown = unknown or tok.lower()
                if prev_kind in ("num", ")"):
                    cur.append("*")
                cur.append("_u")
                prev_kind = "num"
                gap = False
            else:
                gap = True
                if not cur:
                    label_words.append(tok)
            continue
        if kind == "num":
            if prev_kind == "num" or prev_kind == ")" and gap:
                close()
            elif prev_kind == ")":
                cur.append("*")
            cur.append(tok)
            prev_kind = "num"
            gap = False
        else:
            if tok == "(" and prev_kind in ("num", ")"):
                if gap:
                    close()
                else:
                    cur.append("*")
            if tok == "=" and not cur:
                label_words.append("=")
                continue
            cur.append(tok)
            prev_kind = ")" if tok == ")" else "op"
        gap = False
    close()
    chains, loose = [], []
    for tokens, unk, label in runs:
        chain = None if unk == "?" else _as_chain(tokens, unk, label)
        if chain is None:
            loose += [t for t in tokens if re.fullmatch(r"[-\d.()/]+", t) and re.search(r"\d", t)]
        else:
            chains.append(chain)
    return chains, loose


def _as_chain(tokens: list[str], unknown: str, label: str) -> Chain | None:
    while tokens and tokens[-1] in "+-*/^=(":
        tokens = tokens[:-1]
    while tokens and tokens[0] in "+*/^=)":
        tokens = tokens[1:]
    if not tokens:
        return None
    depth = 0
    for t in tokens:
        depth += (t == "(") - (t == ")")
    tokens = ["("] * max(0, -depth) + tokens + [")"] * max(0, depth)
    if not any(t in "+-*/^=" for t in tokens) or len(tokens) < 3:
        return None
    sides = tuple(s.strip().replace("^", "**") for s in " ".join(tokens).split("="))
    if not unknown and all(_BARE_RE.fullmatch(x) for x in sides) and len({_bare(x) for x in sides}) > 1:
        return None    # "1 hour = 60 minutes", "5 quarters equals $100": a correspondence, not arithmetic
    if unknown and len(sides) < 2 or len(sides) == 1 and re.fullmatch(r"[\d.]+ - [\d.]+", sides[0]):
        return None    # "5 pm-6 pm" is a range, not a subtraction
    if any(not s for s in sides) or (not unknown and len(sides) == 1 and not re.search(r"\d\s*[-+*/^]", sides[0])):
        return None
    return Chain(sides, unknown, label)


_BARE_RE = re.compile(r"\(?\s*\d+(?:\.\d+)?\s*\)?")


def _bare(x: str) -> float:
    return float(x.strip("() "))
