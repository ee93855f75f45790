"""Final-answer extraction from model text, the way DeepSeekMath and ToRA score their runs.

Order: the last brace-matched `\\boxed{...}` (or `\\fbox{...}`, or `\\boxed 5`); else the last
```output block; else the last number. Linear in the text length, so a megabyte of model output
or 10,000 nested braces costs milliseconds, never a hang.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Source = Literal["boxed", "output", "number"]

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_OUTPUT_RE = re.compile(r"```output[ \t]*\n(.*?)(?:\n)?```", re.DOTALL)
# A number: optional sign, digits with optional thousands commas, decimals, or a plain fraction.
_MAX_BOX_TRIES = 16
_NUMBER_RE = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|-?\.\d+")


@dataclass(frozen=True)
class Extracted:
    answer: str
    source: Source

    def to_dict(self) -> dict:
        return {"answer": self.answer, "source": self.source}


def extract_answer(text: str) -> Extracted | None:
    """The final answer in `text`, or None when there is nothing answer-like in it."""
    if not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None:
        return Extracted(boxed, "boxed")
    outputs = [m.group(1).strip() for m in _OUTPUT_RE.finditer(text)]
    outputs = [o for o in outputs if o]
    if outputs:
        return Extracted(outputs[-1], "output")
    number = last_number(text)
    if number is not None:
        return Extracted(number, "number")
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed`/`\\fbox` whose braces balance; `\\boxed 5` takes one token."""
    starts = [m.end() for m in _BOX_RE.finditer(text)]
    for start in reversed(starts[-_MAX_BOX_TRIES:]):  # bounded: unbalanced boxes cost O(n) each
        content = _box_content(text, start)
        if content is not None and content.strip():
            return content.strip()
    return None


def _box_content(text: str, i: int) -> str | None:
    n = len(text)
    j = i
    while j < n and text[j] in " \t":
        j += 1
    if j >= n:
        return None
    if text[j] != "{":
        if j == i:  # `\boxed5` is not a command; `\boxed 5` is
            return None
        m = re.match(r"[^\s$]+", text[j:])
        return m.group(0).rstrip(".,;") if m else None
    depth = 0
    k = j
    while k < n:
        c = text[k]
        if c == "\\" and k + 1 < n and text[k + 1] in "{}":
            k += 2  # an escaped brace (`\{`) is content, not structure
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[j + 1:k]
        k += 1
    return None  # unbalanced: try an earlier box


def last_number(text: str) -> str | None:
    """The last number in `text`, thousands separators removed (`1,000` -> `1000`)."""
    last = None
    for last in _NUMBER_RE.finditer(text):
        pass
    if last is None:
        return None
    return last.group(0).replace(",", "")
