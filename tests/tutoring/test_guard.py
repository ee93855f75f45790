"""The answer-leak guard on a table of safe and leaking hints (numbers in words, equivalent forms, the
problem's own numbers), and the arithmetic it reads out of a hint."""

from __future__ import annotations

import pytest

from tutor.tutoring.guard import check_claims, check_hint
from tutor.tutoring.numerals import as_digits

EQ = "Solve for x: 2x + 3 = 17."
EQ2 = "Solve for x: 2x + 3 = 7."
BOXES = "There are 3 boxes with 4 apples in each. How many apples are there?"
SALE = "A shirt costs $20 and is 25% off. What is the sale price?"
ROPE = "A rope 15 m long is cut into two equal pieces. How long is each piece?"
X3 = "Solve x + 3 = 6."

# (text, problem, answer, hidden step results, leaks?)
TABLE = [
    ("So x = 7.", EQ, "7", {1: "14"}, True),
    ("The answer is seven.", EQ, "7", {1: "14"}, True),
    ("x equals seven point zero", EQ, "7", {1: "14"}, True),
    (r"Try $x = \frac{21}{3}$.", EQ, "7", {1: "14"}, True),
    ("Since 2x = 14, x = 7.", EQ, "7", {1: "14"}, True),
    ("Subtracting gives 2x = fourteen.", EQ, "7", {1: "14"}, True),
    ("You should get fourteen on the right.", EQ, "7", {1: "14"}, True),
    ("Half of fourteen is seven.", EQ, "7", {1: "14"}, True),
    ("The result is 28/4.", EQ, "7", {1: "14"}, True),
    ("That leaves 14 on the right side.", EQ, "7", {1: "14"}, True),
    ("seventy divided by ten", EQ, "7", {1: "14"}, True),
    ("Check: 2(7) + 3 = 17", EQ, "7", {1: "14"}, True),
    ("Two times seven is fourteen.", EQ, "7", {1: "14"}, True),
    ("Write 2x = 17 - 3 and simplify.", EQ, "7", {1: "14"}, True),   # 17 - 3 is 14, just unevaluated
    ("What operation is being done to x?", EQ, "7", {1: "14"}, False),
    ("Subtract 3 from both sides.", EQ, "7", {1: "14"}, False),
    ("Undo the + 3 first, then the multiplication by 2.", EQ, "7", {1: "14"}, False),
    ("Take it one step at a time.", EQ, "7", {1: "14"}, False),
    ("Look at the 17 on the right-hand side.", EQ, "7", {1: "14"}, False),
    ("The equation 2x + 3 = 17 has x on the left.", EQ, "7", {1: "14"}, False),
    ("Is your answer bigger than 5?", EQ, "7", {1: "14"}, False),
    ("Divide both sides by 2.", EQ2, "2", {1: "4"}, False),
    ("Divide both sides by two.", EQ2, "2", {1: "4"}, False),
    ("x = 2", EQ2, "2", {1: "4"}, True),
    ("The answer is two.", EQ2, "2", {1: "4"}, True),
    ("2 is the answer.", EQ2, "2", {1: "4"}, True),
    ("Now divide 4 by 2.", EQ2, "2", {1: "4"}, True),
    ("Look at x + 3 = 6 and undo the addition.", X3, "3", {}, False),
    ("So x = 3.", X3, "3", {}, True),
    ("Multiply 3 by 4.", BOXES, "12", {}, False),
    ("3 x 4 = 12 apples", BOXES, "12", {}, True),
    ("Three times four is twelve.", BOXES, "12", {}, True),
    ("How many boxes are there, and how many apples in each?", BOXES, "12", {}, False),
    ("Find 25% of $20 first.", SALE, "15", {1: "5"}, False),
    ("The discount is $5.", SALE, "15", {1: "5"}, True),
    ("Fifteen dollars.", SALE, "15", {1: "5"}, True),
    ("Take a quarter of 20 first.", SALE, "15", {1: "5"}, False),   # what to compute, not its result
    ("seven point five metres", ROPE, "7.5", {}, True),
    ("That is fifteen halves.", ROPE, "7.5", {}, True),
    ("Each piece is 7½ m.", ROPE, "7.5", {}, True),
    ("Divide 15 by 2.", ROPE, "7.5", {}, False),
    ("Half of 15 is 7.5.", ROPE, "7.5", {}, True),
]


@pytest.mark.parametrize("text,problem,answer,results,leaks", TABLE, ids=[row[0][:40] for row in TABLE])
def test_the_guard_verdict_on_each_hint(text, problem, answer, results, leaks):
    verdict = check_hint(text, answer, results, timeout=10, problem=problem)
    assert verdict.leak == leaks, verdict.reason


def test_the_table_covers_enough_safe_and_leaking_hints():
    assert len(TABLE) >= 30 and sum(r[-1] for r in TABLE) >= 15 and sum(not r[-1] for r in TABLE) >= 15


def test_without_the_problem_a_divisor_of_both_sides_is_still_no_leak():
    # `mathtutor check-hint` may be given no problem; "both sides by N" is a move, not a result
    assert not check_hint("Divide both sides by 2.", "2", timeout=10).leak
    assert check_hint("Then x is 2.", "2", timeout=10).leak


@pytest.mark.parametrize("words,digits", [
    ("seven point five", "7.5"), ("twenty-one apples", "21 apples"), ("one hundred and five", "105"),
    ("fifteen halves", "15/2"), ("two and a half", "5/2"), ("7½", "15/2"), ("3 x 4 = 12", "3 * 4 = 12"),
    ("fourteen divided by two equals seven", "14 / 2 = 7"), ("x is negative seven", "x is -7"),
    ("Take it one step at a time", "Take it one step at a time"), ("the answer is one", "the answer is 1"),
    ("one and one", "one and one"), ("2x + 3 = 17", "2x + 3 = 17"),
])
def test_numbers_in_words_become_digits(words, digits):
    assert as_digits(words) == digits


def test_times_between_numbers_is_a_product_not_a_claim_about_its_last_factor(sandbox_session):
    claims = check_claims("So 3 x 4 = 12 apples, and 3 × 5 = 15.", sandbox_session)
    assert [(c.claim, c.holds) for c in claims] == [("3 * 4 = 12", True), ("3 * 5 = 15", True)]
    assert check_hint("3 x 4 = 12", None, timeout=10, runner=sandbox_session).ok
