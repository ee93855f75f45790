"""The numbers a text states, however it writes them: digits ("1,250", "7.5", "3/4", "\\frac{15}{2}",
"40%"), words ("seven point five", "twenty-one", "a dozen", "twice", "half"). Used to tell whether a
verification program works from the problem's own quantities, and by eval-tutor to find an answer in a
tutor's text by a route that shares nothing with the hint guard.
"""

from __future__ import annotations

import re
from fractions import Fraction

_ONES = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10 ** 6, "billion": 10 ** 9}
# Words that state a quantity on their own ("twice as many", "half of", "a dozen eggs").
_ALONE = {"dozen": 12, "twice": 2, "double": 2, "thrice": 3, "triple": 3, "half": Fraction(1, 2),
          "quarter": Fraction(1, 4), "third": Fraction(1, 3)}
_DIGITS = {"zero": "0", "oh": "0", **{w: str(v) for w, v in _ONES.items() if v < 10}}

_WORD = re.compile(r"[a-z]+")
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d])|(?<![\w.])-?\d+(?:\.\d+)?(?![\d])")
_FRACTION = re.compile(r"(?<![\w.])(-?\d+)\s*/\s*(\d+)(?![\d.])")
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*(-?\d+(?:\.\d+)?)\s*\}\s*\{\s*(\d+(?:\.\d+)?)\s*\}")
_PERCENT = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:%|\\%|\s+percent)")


def _words_numbers(text: str, idioms: bool = True) -> list[Fraction]:
    """Numbers written in words: "twenty-one", "three hundred and five", "seven point five" (and with
    `idioms`, "twice", "half", "a dozen")."""
    tokens = _WORD.findall(text.lower().replace("-", " "))
    out: list[Fraction] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if idioms and t in _ALONE:
            out.append(Fraction(_ALONE[t]))
            i += 1
            continue
        if t not in _ONES and t not in _TENS:
            i += 1
            continue
        total, current = 0, 0
        while i < len(tokens):
            t = tokens[i]
            if t in _ONES:
                current += _ONES[t]
            elif t in _TENS:
                current += _TENS[t]
            elif t in _SCALES and (current or total):
                if _SCALES[t] == 100:
                    current *= 100
                else:
                    total += current * _SCALES[t]
                    current = 0
            elif t == "and" and i + 1 < len(tokens) and (tokens[i + 1] in _ONES or tokens[i + 1] in _TENS):
                pass
            else:
                break
            i += 1
        value = Fraction(total + current)
        if i + 1 < len(tokens) and tokens[i] == "point" and tokens[i + 1] in _DIGITS:
            digits = ""
            i += 1
            while i < len(tokens) and tokens[i] in _DIGITS:
                digits += _DIGITS[tokens[i]]
                i += 1
            value += Fraction(int(digits), 10 ** len(digits))
        out.append(value)
    return out


def numbers_in(text: str, *, idioms: bool = True) -> list[Fraction]:
    """Every number the text states, exactly (a percentage also as its fraction: 40% gives 40 and 2/5).
    `idioms=False` leaves out "twice", "half" and the like, which a hint may say without meaning a value."""
    out: list[Fraction] = []
    for m in _LATEX_FRAC.finditer(text):
        out.append(Fraction(m.group(1)) / Fraction(m.group(2)))
    plain = _LATEX_FRAC.sub(" ", text)
    for m in _FRACTION.finditer(plain):
        if int(m.group(2)):
            out.append(Fraction(int(m.group(1)), int(m.group(2))))
    for m in _NUMBER.finditer(plain):
        out.append(Fraction(m.group(0).replace(",", "")))
    for m in _PERCENT.finditer(plain):
        out.append(Fraction(m.group(1)) / 100)
    out += _words_numbers(plain, idioms)
    return out


def as_number(value: str) -> Fraction | None:
    """The exact value of a plain numeric answer ("18", "7.5", "-3", "\\frac{3}{4}", "1,250", "$18"),
    or None when it is not one number."""
    v = value.strip().strip("$").replace("\\$", "").replace("\\!", "").replace(",", "").strip()
    v = re.sub(r"^\\boxed\{(.*)\}$", r"\1", v).strip()
    m = _LATEX_FRAC.fullmatch(v) or re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)", v)
    try:
        if m:
            return Fraction(m.group(1)) / Fraction(m.group(2))
        if re.fullmatch(r"-?\d+(?:\.\d+)?", v):
            return Fraction(v)
        if re.fullmatch(r"-?\d+(?:\.\d+)?\s*(?:%|\\%)", v):
            return Fraction(re.sub(r"[^\d.\-]", "", v)) / 100
    except (ValueError, ZeroDivisionError):
        return None
    return None
