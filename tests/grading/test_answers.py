"""Final-answer extraction: boxed, then the last output block, then the last number."""

import time

import pytest

from tutor.solver.answers import Extracted, extract_answer


@pytest.mark.parametrize("text, answer, source", [
    (r"so the answer is $\boxed{42}$.", "42", "boxed"),
    (r"\boxed{\frac{1}{2}} and later \boxed{\frac{\sqrt{3}}{2}}", r"\frac{\sqrt{3}}{2}", "boxed"),
    (r"nested \boxed{\{1, \{2\}\}} end", r"\{1, \{2\}\}", "boxed"),
    (r"\boxed{\left(3, \frac{\pi}{2}\right)}", r"\left(3, \frac{\pi}{2}\right)", "boxed"),
    (r"The answer is \boxed 5.", "5", "boxed"),
    (r"\fbox{7}", "7", "boxed"),
    (r"\boxed{x^{2}+1} then a broken \boxed{3", "x^{2}+1", "boxed"),
    ("```python\nprint(6*7)\n```\n```output\n42\n```\n", "42", "output"),
    ("```output\n1\n```\ntext\n```output\n[2, 3]\n```", "[2, 3]", "output"),
    ("She has 3 apples and buys 1,250 more, so 1,253 in total.", "1253", "number"),
    ("The ratio is 3/4 overall", "3/4", "number"),
    ("It drops to -2.5 degrees", "-2.5", "number"),
    (r"\boxed{12} beats ```output\n5\n``` and 99", "12", "boxed"),
])
def test_extracts_in_priority_order(text, answer, source):
    assert extract_answer(text) == Extracted(answer, source)


@pytest.mark.parametrize("text", ["", "no numbers here", r"\boxed{}", r"\boxedsomething"])
def test_nothing_answer_like_gives_none(text):
    assert extract_answer(text) is None


def test_pathological_text_is_fast():
    started = time.monotonic()
    assert extract_answer(r"\boxed{" + "{" * 10000 + "1" + "}" * 10000 + "}").source == "boxed"
    assert extract_answer("\\boxed{" * 50000) is None  # unbalanced boxes must not be quadratic
    assert extract_answer("7" * 1_000_000).answer == "7" * 1_000_000
    assert time.monotonic() - started < 5
