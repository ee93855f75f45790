"""What reading math gives besides SymPy values: relations, alternatives, and the reasons it failed.

Kept free of SymPy so the web process can use the limits and the types without importing it; the
readers that build these (`tutor.checking.mathtext`, `tutor.checking.plainmath`) run in the workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from sympy import Basic

MAX_CHARS = 2000  # longer input is refused before any parsing
MAX_NESTING = 200  # deeper brackets are refused before any parsing


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


Math = Union["Basic", Relation, Alternatives]
