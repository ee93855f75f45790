"""Numbers and arithmetic written in words, rewritten as the digits and symbols the math reader reads.

A model avoids "7.5" and writes "seven point five", "fifteen halves", "7½", "fourteen divided by two
equals seven" or "3 x 4 = 12"; the hint guard must see the same values in all of them. `as_digits`
rewrites those forms and leaves everything else as it was. A lone "one" stays a word ("one step at
a time") unless it stands where a result would ("the answer is one").
"""

from __future__ import annotations

import re
from fractions import Fraction

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_DENOMINATORS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
                 "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "seventh": 7, "sevenths": 7,
                 "eighth": 8, "eighths": 8, "ninth": 9, "ninths": 9, "tenth": 10, "tenths": 10}
_DIGIT_WORDS = {**{w: str(i) for w, i in _UNITS.items() if i < 10}, "oh": "0"}
_NUMBER_WORDS = set(_UNITS) | set(_TENS) | set(_SCALES) | {"hundred"}
_RESULT_BEFORE = re.compile(r"(?:\bis|\bare|\bequals?|=|\bget|\bgets|\bgives?|\bmakes?|\banswer|\bresult|\bbe|\bto)\s*$",
                            re.I)

_TOKEN = re.compile(r"[A-Za-z]+|[^A-Za-z]+")
_JOIN = re.compile(r"^[ \t-]+$")          # what may stand between the words of one number

_UNICODE_FRACTIONS = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅖": "2/5",
                      "⅗": "3/5", "⅘": "4/5", "⅙": "1/6", "⅚": "5/6", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8", "⅞": "7/8"}
_WORD_OPERATORS = [
    (r"multiplied\s+by|times", "*"), (r"divided\s+by|over", "/"), (r"plus", "+"), (r"minus", "-"),
    (r"is\s+equal\s+to|equals|equal\s+to|makes|gives|is", "="),
]
# "3 x 4", "3×4", "3 · 4": multiplication between two numbers (never `2x`, a coefficient)
_TIMES = re.compile(r"(?<=\d)\s*[x×·⋅∙]\s*(?=\d)")


def as_digits(text: str) -> str:
    """`text` with numbers in words as digits, word operators between numbers as symbols, unicode
    fractions spelled out and `x`/`×` between numbers as `*`."""
    text = re.sub(r"(\d+)?([½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞])", _vulgar, text)
    text = _numbers(text)
    for words, symbol in _WORD_OPERATORS:
        text = re.sub(rf"(?<=[\d)])\s+(?:{words})\s+(?=[-(]?\d)", f" {symbol} ", text, flags=re.I)
    text = re.sub(r"(?<=\d)\s+squared\b", "^2", text, flags=re.I)
    text = re.sub(r"(?<![\d)])(?<![\d)] )\b(?:negative|minus)\s+(?=\d)", "-", text, flags=re.I)
    return _TIMES.sub(" * ", text)


def _vulgar(m: re.Match[str]) -> str:
    """"7½" is 15/2 (a mixed number as one fraction, so no reader takes it for 7 and 1/2)."""
    frac = Fraction(_UNICODE_FRACTIONS[m.group(2)]) + int(m.group(1) or 0)
    return f"{frac.numerator}/{frac.denominator}"


def _numbers(text: str) -> str:
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        end, value = _number_at(tokens, i)
        if value is None:
            out.append(tokens[i])
            i += 1
            continue
        out.append(value)
        i = end
    return "".join(out)


def _next_word(tokens: list[str], k: int) -> int | None:
    """Index of the word after token k when only spaces or a hyphen stand between them."""
    if k + 2 < len(tokens) and _JOIN.match(tokens[k + 1]) and tokens[k + 2][:1].isalpha():
        return k + 2
    return None


def _number_at(tokens: list[str], i: int) -> tuple[int, str | None]:
    """(index after the number, the number as digits) for a number in words starting at tokens[i]."""
    word = tokens[i].lower()
    if word == "a" and (k := _next_word(tokens, i)) is not None and tokens[k].lower() in ("half", "quarter", "third"):
        return k + 1, f"1/{_DENOMINATORS[tokens[k].lower()]}"
    if word not in _NUMBER_WORDS and word != "point":
        return i, None
    total, current, words, k, last = 0, 0, 0, i, i
    while k is not None and tokens[k].lower() in _NUMBER_WORDS | {"and"}:
        w = tokens[k].lower()
        if w == "and":   # only inside one number: "one hundred and five", never "one and one"
            nxt = _next_word(tokens, k)
            if tokens[last].lower() not in {"hundred"} | set(_SCALES) or nxt is None \
                    or tokens[nxt].lower() not in set(_UNITS) | set(_TENS):
                break
        elif w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[w]
            current = 0
        words += w != "and"
        last = k
        k = _next_word(tokens, k)
    value: Fraction | None = Fraction(total + current) if words else None
    end = last + 1 if words else i
    text = str(total + current) if words else ""
    # decimals: "seven point five", "point two five"
    p = _next_word(tokens, last) if words else i
    if p is not None and tokens[p].lower() == "point":
        digits, q = "", _next_word(tokens, p)
        while q is not None and tokens[q].lower() in _DIGIT_WORDS:
            digits += _DIGIT_WORDS[tokens[q].lower()]
            end, q = q + 1, _next_word(tokens, q)
        if digits:
            text = f"{text or '0'}.{digits}"
            return end, text
    if value is None:
        return i, None
    # fractions: "three quarters", "fifteen halves"; "two and a half"
    d = _next_word(tokens, last)
    if d is not None and tokens[d].lower() in _DENOMINATORS:
        return d + 1, f"{value}/{_DENOMINATORS[tokens[d].lower()]}"
    if d is not None and tokens[d].lower() == "and":
        a, h = _next_word(tokens, d), None
        h = _next_word(tokens, a) if a is not None and tokens[a].lower() == "a" else None
        if h is not None and tokens[h].lower() in _DENOMINATORS:
            frac = value + Fraction(1, _DENOMINATORS[tokens[h].lower()])
            return h + 1, f"{frac.numerator}/{frac.denominator}"
    if words == 1 and tokens[i].lower() == "one" and not _RESULT_BEFORE.search("".join(tokens[:i])):
        return i, None
    return end, text
