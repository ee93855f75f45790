"""The step checker on a table of student lines, multi-line submissions, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tutor.checking.steps import check_lines, check_step

# (line, previous line, problem, expected verdict, a word the reason must contain)
TABLE = [
    # valid rewrites of equations
    ("2x = 4", "2x + 3 = 7", None, "valid", "equivalent"),
    ("x = 2", "2x = 4", None, "valid", ""),
    ("x = 2", "2x + 3 = 7", None, "valid", ""),
    ("2x + 6 = 10", "2(x + 3) = 10", None, "valid", ""),
    ("x + 3 = 5", "2(x + 3) = 10", None, "valid", ""),
    ("(x - 2)(x - 3) = 0", "x^2 - 5x + 6 = 0", None, "valid", ""),
    ("x = 2 or x = 3", "(x - 2)(x - 3) = 0", None, "valid", "same solutions"),
    ("x = ±2", "x^2 = 4", None, "valid", ""),
    ("x = 2 or x = -2", "x^2 = 4", None, "valid", ""),
    ("x = 9", "sqrt(x) = 3", None, "valid", ""),
    ("3x = 12", "3x - 5 = 7", None, "valid", ""),
    ("x = 4", "x/2 = 2", None, "valid", ""),
    ("y = (x - 1)/2", "x = 2y + 1", None, "valid", ""),
    ("x > -3", "-2x < 6", None, "valid", ""),
    ("x <= 4", "x + 1 <= 5", None, "valid", ""),
    ("-2 < x < 2", "x^2 < 4", None, "valid", ""),
    ("{-2, 2}", "x^2 = 4", None, "valid", ""),
    ("x ∈ {-2, 2}", "x^2 = 4", None, "valid", ""),
    ("no solution", "x^2 + 4 = 0", None, "valid", ""),
    ("x = -3", "(x^2 - 9)/(x - 3) = 0", None, "valid", ""),
    ("2x + 3 = 7", None, "Solve 2x + 3 = 7 for x.", "valid", "problem"),
    ("2x = 4", None, "Solve $2x+3=7$.", "valid", ""),
    ("x^2 - 4 = 0", None, "Solve: x^2 = 4", "valid", ""),
    (r"\frac{x}{2} = 3", "x/2 = 3", None, "valid", ""),
    # valid rewrites of expressions and calculations
    ("x^2 + 2x + 1", "(x + 1)^2", None, "valid", "equal"),
    ("(x + 1)^2 = x^2 + 2x + 1", None, None, "valid", ""),
    ("-x + 3", "-(x - 3)", None, "valid", ""),
    ("2 sqrt(2)", "sqrt(8)", None, "valid", ""),
    ("= 14", "3*4 + 2", None, "valid", ""),
    ("3*4 = 12", None, None, "valid", "calculation"),
    ("7 - 3 = 4", None, None, "valid", ""),
    (r"\frac{1}{2} + \frac{1}{3} = \frac{5}{6}", None, None, "valid", ""),
    ("x(x + 1)", "x^2 + x", None, "valid", ""),
    # function notation from the problem
    ("f(4) = 3*4 + 2 = 14", None, "If f(x) = 3x + 2, find f(4).", "valid", "evaluation"),
    ("3x + 2 = 0", "f(x) = 0", "Let $f(x) = 3x + 2$. Solve $f(x) = 0$.", "valid", ""),
    ("f(4) = 15", None, "If f(x) = 3x + 2, find f(4).", "invalid", "substituted"),
    ("3 + 2 = 5", None, "Janet has 3 apples and buys 2 more. How many?", "valid", "calculation"),
    ("x^2 + 2", None, "Expand x(x + 2).", "invalid", "every term"),
    # sign errors
    ("2x = 10", "2x + 3 = 7", None, "invalid", "sign"),
    ("x = 2", "x - 5 = 7", None, "invalid", "sign"),
    ("3x = 2", "3x - 5 = 7", None, "invalid", "sign"),
    ("-x - 3", "-(x - 3)", None, "invalid", ""),
    ("x < -3", "-2x < 6", None, "invalid", "reverses"),
    ("x - 3", "x + 3", None, "invalid", "sign"),
    # distributing wrongly
    ("2x + 3 = 10", "2(x + 3) = 10", None, "invalid", "every term"),
    ("3x - 2 = 4", "3(x - 2) = 4", None, "invalid", "every term"),
    ("x^2 + 9", "(x + 3)^2", None, "invalid", "squares"),
    ("x^2 + 1 = 10", "(x + 1)^2 = 10", None, "invalid", "squares"),
    # dividing by a variable
    ("x = 1", "x^2 = x", None, "invalid", "dividing by x"),
    ("y = 1", "x y = x", None, "invalid", "dividing by x"),
    ("x + 1 = 3", "x(x + 1) = 3x", None, "invalid", "dividing by x"),
    ("x = 1", "x/(x - 1) = 1", None, "invalid", "denominator"),
    ("x = 3", "(x^2 - 9)/(x - 3) = 0", None, "invalid", "denominator"),
    ("-2 < x < 3", "x^2 < 4", None, "invalid", ""),
    ("no solution", "x^2 = 4", None, "invalid", "loses"),
    # squaring both sides
    ("x + 2 = x^2", "sqrt(x + 2) = x", None, "invalid", "squaring"),
    ("x^2 = 1", "x = 1", None, "invalid", ""),
    # lost ± roots and lost factors
    ("x = 2", "x^2 = 4", None, "invalid", "±"),
    ("x = 3", "x^2 = 9", None, "invalid", "loses"),
    ("x = 2", "(x - 2)(x - 3) = 0", None, "invalid", "loses"),
    # arithmetic slips
    ("x = 3", "2x = 10", None, "invalid", "arithmetic"),
    ("3*4 = 13", None, None, "invalid", "not right"),
    ("= 15", "3*4 + 2", None, "invalid", ""),
    ("x = 3 + 4 = 8", None, None, "invalid", "chain"),
    ("5x = 20 + 5 = 26", None, None, "invalid", ""),
    ("x^2 + 3x", "(x + 1)^2", None, "invalid", ""),
    # unreadable input
    ("hello there friend", "x = 2", None, "unreadable", "word"),
    ("2x + ", "2x + 3 = 7", None, "unreadable", ""),
    ("x = ", "2x + 3 = 7", None, "unreadable", ""),
    ("", "2x + 3 = 7", None, "unreadable", "empty"),
    ("__import__('os')", None, None, "unreadable", "character"),
    ("x = (2 + 3", None, None, "unreadable", ""),
    ("{" * 5000 + "x" + "}" * 5000, "x = 2", None, "unreadable", "nested"),
    ("10^10^10^10 = x", "x = 2", None, "unreadable", "too large"),
]


@pytest.mark.parametrize("line, previous, problem, expected, word", TABLE)
def test_step_table(line, previous, problem, expected, word):
    verdict = check_step(line, previous, problem, timeout=10)
    assert verdict.verdict == expected, verdict.reason
    assert word.lower() in verdict.reason.lower(), verdict.reason


def test_table_is_big_enough():
    assert len(TABLE) >= 50


@pytest.mark.parametrize("previous, line", [("x^2 = 4", "x = 2"), ("2x + 3 = 7", "2x = 10"), ("2x = 10", "x = 3")])
def test_invalid_reasons_do_not_give_the_answer(previous, line):
    """The solution of the previous line (2, -2 or 5) must not appear in the feedback."""
    reason = check_step(line, previous, timeout=10).reason
    for answer in ("-2", "= 2", "x = 5", " 5"):
        assert answer not in reason, reason


@pytest.mark.parametrize("problem, work, first_bad", [
    ("Solve x^2 - 5x + 6 = 0", "x = (5 ± sqrt(25 - 24))/2\nx = (5 ± 1)/2\nx = 3 or x = 2", None),
    ("Solve x^2 - 5x + 6 = 0", "(x - 5/2)^2 = 1/4\nx - 5/2 = ±1/2\nx = 3, 2", None),
    ("Solve 3(x - 2) = 2x + 1", "3x - 6 = 2x + 1\n3x - 2x = 1 + 6\nx = 7", None),
    ("Solve 3(x - 2) = 2x + 1", "3x - 6 = 2x + 1\n3x - 2x = 1 - 6\nx = -5", 1),
    ("Solve -3x + 1 >= 10", "-3x >= 9\nx >= -3", 1),
    ("Solve sqrt(2x + 3) = x", "2x + 3 = x^2\nx^2 - 2x - 3 = 0\n(x - 3)(x + 1) = 0", 0),
    ("Solve 2x + 3 = 17", "2x = 17 - 3\n= 14\nx = 7", None),          # `= 14` makes the line `2x = 14`
    ("Solve 2x + 3 = 17", "2x = 17 - 3\n= 14\nx = 8", 2),
])
def test_whole_solutions(problem, work, first_bad):
    verdicts, bad = check_lines(work, problem=problem, timeout=10)
    assert bad == first_bad, [v.reason for v in verdicts]


def test_multi_line_submission_points_to_the_first_bad_line():
    verdicts, first_bad = check_lines("2(x + 3) = 10\n2x + 6 = 10\n2x = 16\nx = 8", problem="Solve 2(x+3) = 10")
    assert [v.verdict for v in verdicts[:2]] == ["valid", "valid"]
    assert first_bad == 2 and verdicts[2].verdict == "invalid"
    assert verdicts[3].verdict == "valid"  # x = 8 does follow from the (wrong) line before it
    verdicts, first_bad = check_lines(["x^2 = 9", "x = ±3"], problem="Solve x^2 = 9")
    assert first_bad is None and all(v.ok for v in verdicts)


def test_checking_can_stop_at_the_first_bad_line():
    """The tutoring session stops there: later lines are not checked and get no verdict."""
    work = "2(x + 3) = 10\n2x = 16\nx = 8"
    verdicts, first_bad = check_lines(work, problem="Solve 2(x+3) = 10", timeout=10, stop_at_first_bad=True)
    assert first_bad == 1 and [v.verdict for v in verdicts] == ["valid", "invalid"]


def test_lines_split_at_latex_breaks_and_continue_with_equals():
    verdicts, first_bad = check_lines(r"2x &= 17 - 3 \\ &= 14 \\ &= 7 \cdot 2", problem="Solve 2x + 3 = 17", timeout=10)
    assert first_bad is None and len(verdicts) == 3, [v.reason for v in verdicts]
    verdicts, first_bad = check_lines("2x = 17 - 3\n= 15", problem="Solve 2x + 3 = 17", timeout=10)
    assert first_bad == 1 and verdicts[1].verdict == "invalid"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from tutor.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_check_step():
    bad = _cli("check-step", "--previous", "x^2 = x", "--json", "x = 1")
    assert bad.returncode == 0, bad.stderr
    assert json.loads(bad.stdout) == {"verdict": "invalid", "reason": "dividing by x loses a solution: x could be 0"}
    good = _cli("check-step", "--problem", "Solve 2x + 3 = 7", "2x = 4", "--json")
    assert good.returncode == 0 and json.loads(good.stdout)["verdict"] == "valid"
    unreadable = _cli("check-step", "--json", "what is this")
    assert unreadable.returncode == 0 and json.loads(unreadable.stdout)["verdict"] == "unreadable"
    several = _cli("check-step", "--problem", "Solve 2x + 3 = 7", "--json", "2x = 4\nx = 3")
    data = json.loads(several.stdout)
    assert several.returncode == 0 and data["first_bad_line"] == 1 and data["verdict"] == "invalid"
    text = _cli("check-step", "--previous", "2x = 10", "x = 5")
    assert text.returncode == 0 and text.stdout.startswith("valid:")


@pytest.mark.parametrize("line, previous", [
    (r"\Rightarrow x = 2", "2x = 4"), ("so x = 2", "2x = 4"), (r"x &= 2", r"2x &= 4"), ("therefore x = 12", "x/3 = 4"),
])
def test_connectives_and_alignment_marks_are_ignored(line, previous):
    assert check_step(line, previous, timeout=10).verdict == "valid"


def test_cli_multi_line_after_a_previous_line():
    out = _cli("check-step", "--previous", "3x - 5 = 7", "--json", "3x = 12\nx = 3")
    data = json.loads(out.stdout)
    assert out.returncode == 0 and data["first_bad_line"] == 1
    assert [row["verdict"] for row in data["lines"]] == ["valid", "invalid"]


def test_cli_exits_non_zero_only_when_the_checker_itself_fails(tmp_path):
    """No worker can start (its interpreter is missing): an internal error, status 2, not a verdict."""
    env_code = "import sys; sys.executable = '/nonexistent/python'; from tutor.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", env_code, "grade", "-r", "1", "1", "--json"],
                         capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "MATHTUTOR_GRADER_TIMEOUT_S": "1"})
    assert out.returncode == 2, out.stdout + out.stderr
    assert "unavailable" in json.loads(out.stdout)["reason"]
