"""Finding math in free text (a hint, a tutor reply, a problem statement): its fragments, and the
equalities they claim.

The one reader of math in prose: the hint guard compares every fragment with the hidden values
(`tutor.checking.grader.mentions_value`), the step checker reads a problem's equations from them,
and the arithmetic a hint claims is re-done in the kernel. No SymPy here, so the web process can
use it; the fragments are read as math later, in a worker (`tutor.checking.mathtext.read_math`).
"""

from __future__ import annotations

import re

from tutor.solver.answers import last_boxed

MAX_FRAGMENTS = 200
MAX_CLAIMS = 12

_LATEX_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# A run of plain math: `x = 3`, `2/3`, `sqrt(8)`, `(3, 4)`; prose words inside it are cut out below.
_PLAIN_RUN_RE = re.compile(
    r"(?:\b[A-Za-z]\s*(?:=|<=|>=|<|>)\s*)?[-(\u221a]*(?:\d|\u03c0|sqrt|\b[a-z]\b)[\d\s+\-*/^().,\u221a\u03c0=a-z]*")
_LIST_MARKER_RE = re.compile(r"(?im)(?:^\s*\d+[.):]\s)|\b(?:step|part|rung|level|hint)\s+\d+\b")
_PROSE_IN_RUN_RE = re.compile(r"\s[a-z]{2,}\b")
_LOOKS_LIKE_MATH_RE = re.compile(r"[\d\u03c0]|sqrt|[a-z]\s*[-+*/^=]")
# Words that are part of the maths, kept when the prose is taken out of a sentence.
_MATH_WORDS = {"sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "pi", "mod", "abs"}
_WORD_RE = re.compile(r"(?<!\\)\b[A-Za-z]{2,}\b")
_ARITHMETIC_RE = re.compile(r"[\d\s.+\-*/^()]*\d[\d\s.+\-*/^()]*")


def latex_spans(text: str) -> list[str]:
    """The insides of `$...$`, `$$...$$`, `\\(...\\)` and `\\[...\\]`, in order."""
    return [_inside(m) for m in _LATEX_SPAN_RE.finditer(text)]


def fragments(text: str, limit: int = MAX_FRAGMENTS) -> list[str]:
    """Every piece of math in `text`, without repeats: the last `\\boxed{}`, LaTeX spans, plain runs
    (`x = 3`, `2/3`, `sqrt(8)`), and what is left once the words are taken out of each sentence
    ("so that 2x = 14, which means x = 7" gives `2x = 14` and `x = 7`)."""
    return [f for f, _ in _fragments(text)][:limit]


def claimed_equalities(text: str, limit: int = MAX_CLAIMS) -> list[tuple[str, str]]:
    """Adjacent sides of every `a = b (= c ...)` among the fragments, as Python expressions for the
    kernel: any equality written in LaTeX, and the arithmetic ones written in plain text (plain
    sides with letters in them are mostly words, not unknowns)."""
    pairs: list[tuple[str, str]] = []
    for fragment, latex in _fragments(text):
        if "=" not in fragment or "==" in fragment or any(c in fragment for c in "<>"):
            continue
        sides = [s.strip() for s in (latex_to_python(fragment) if latex else fragment).split("=")]
        for a, b in zip(sides, sides[1:]):
            if a and b and (latex or _ARITHMETIC_RE.fullmatch(a) and _ARITHMETIC_RE.fullmatch(b)) \
                    and (a, b) not in pairs:
                pairs.append((a, b))
    return pairs[:limit]


def latex_to_python(tex: str) -> str:
    """Enough LaTeX -> Python for the arithmetic a hint claims; anything else fails to parse later."""
    s = tex.replace("\\left", "").replace("\\right", "").replace("\\,", "").replace("\\!", "")
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("\\div", "/")
    for _ in range(4):  # nested fractions
        s = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", s)
        s = re.sub(r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)", s)
    s = s.replace("\\pi", "pi").replace("^", "**").replace("{", "(").replace("}", ")")
    return s.replace("\\", "")


def _fragments(text: str) -> list[tuple[str, bool]]:
    """(fragment, written in LaTeX?) without repeats, in the order `fragments` documents."""
    found: list[tuple[str, bool]] = []
    seen: set[str] = set()

    def add(fragment: str, latex: bool) -> None:
        if fragment and fragment not in seen:
            seen.add(fragment)
            found.append((fragment, latex))

    boxed = last_boxed(text)
    if boxed:
        add(boxed, True)
    for span in latex_spans(text):
        add(span, True)
    for run in _plain_runs(_LIST_MARKER_RE.sub(" ", _LATEX_SPAN_RE.sub(" ; ", text))):
        add(run, False)
    for fragment in _between_words(text):
        add(fragment, False)
    return found


def _plain_runs(text: str) -> list[str]:
    out: list[str] = []
    for m in _PLAIN_RUN_RE.finditer(text):
        # prose inside a run ("14 is 7") separates candidates
        for run in _PROSE_IN_RUN_RE.split(m.group(0)):
            run = run.strip().rstrip(".,;:=").strip()
            if not run or not _LOOKS_LIKE_MATH_RE.search(run):
                continue
            out.append(run)
            parts = _split_commas(run)
            if len(parts) > 1:  # `2, 3` lists two values; `(3, 4)` stays one point
                out.extend(p.strip() for p in parts if p.strip())
    return out


def _between_words(text: str) -> list[str]:
    """The maths left when the prose is taken out, split at punctuation that ends a clause; list
    markers (`1.`, `Step 2`) are not math."""
    plain = _LIST_MARKER_RE.sub(" ", _LATEX_SPAN_RE.sub(lambda m: " ; " + _inside(m) + " ; ", text))
    plain = _WORD_RE.sub(lambda m: m.group(0) if m.group(0).lower() in _MATH_WORDS else " ; ", plain)
    out = []
    for clause in re.split(r"[;:?!\n]", plain):
        for part in _split_commas(clause):
            part = part.strip().strip(".").strip()
            if re.search(r"\d", part):
                out.append(part)
    return out


def _split_commas(text: str) -> list[str]:
    """Split at commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "({["
        depth -= ch in ")}]"
        if ch == "," and depth <= 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _inside(m: re.Match) -> str:
    return next(g for g in m.groups() if g)
