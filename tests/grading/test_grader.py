"""The grader on a table of equivalent and non-equivalent answers, its timeout, threads and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from tutor.checking.grader import grade, mentions_value

EQUIVALENT = [
    # notation of one value
    (r"\frac{1}{2}", "0.5"), ("1/2", "0.5"), ("0.5", r"\frac12"), (r"\dfrac{3}{4}", "3/4"), ("0.75", "3/4"),
    ("2", "2.0"), ("2", "2.00"), ("-3", "−3"), ("1000", "1,000"), ("1000000", "1,000,000"),
    ("1234.5", "1,234.5"), ("5", "$5"), ("5", r"\$5"), ("5.50", "$5.50"), ("18", "18 dollars"),
    ("5", "5 cm"), ("12", "12 apples"), ("25", r"25\%"), ("25\\%", "25%"), ("30", r"30^\circ"),
    ("30", "30°"), (r"2\sqrt{2}", "sqrt(8)"), (r"\sqrt{8}", "2*sqrt(2)"), (r"2\pi", "2*pi"), (r"2\pi", "2π"),
    (r"\frac{\sqrt{3}}{2}", "sqrt(3)/2"), (r"\frac{1}{\sqrt{2}}", r"\frac{\sqrt{2}}{2}"), ("6", "3!"),
    (r"\frac{\pi}{4}", "pi/4"), ("1", "ln(e)"), (r"e^{2}", "e^2"), ("8", "2^3"), ("1/8", "2^-3"),
    ("14/3", "4 2/3"), (r"\frac{14}{3}", r"4\frac{2}{3}"), ("1500", "1.5e3"), ("1000", r"\$1{,}000"), ("5", "5cm"),
    ("3R^2", r"3 R^{2}"),
    # variables and expressions
    ("2", "x = 2"), ("x = 2", "2"), ("x=2", "x = 2.0"), (r"x^2+2x+1", "(x+1)^2"), ("2x+6", "2(x+3)"),
    (r"\frac{x}{2}", "x/2"), ("x y", "xy"), (r"|x-1|", "abs(x - 1)"), (r"\sin^2 x + \cos^2 x", "1"),
    ("(x-2)(x+2)", "x^2 - 4"), ("y = 2x + 1", "2x - y + 1 = 0"), ("y = 2x+1", "y = 1 + 2x"),
    # several values, sets, tuples, intervals
    ("2, 3", "3, 2"), ("x = 2 or x = 3", "x = 3, x = 2"), (r"\{2, 3\}", "3 or 2"), (r"\pm 3", "x = ±3"),
    ("-3, 3", "x = ±3"), ("x = 1, y = 2", "y = 2, x = 1"), ("x = 1, y = 2", "(1, 2)"), ("(1, 2)", "(1,2)"), (r"\left(3, \frac{\pi}{2}\right)", "(3, pi/2)"),
    ("[1, 2)", "[1,2)"), (r"(-\infty, 3)", "x < 3"), (r"[2, \infty)", "x >= 2"), (r"(-\infty, 3]", "(-oo, 3]"),
    ("x < 3", "3 > x"), ("(-2, 2)", "-2 < x < 2"), (r"\emptyset", "no solution"), (r"x \in \{1, 2\}", "x ∈ {2, 1}"),
    # text answers
    (r"\text{Monday}", "monday"), (r"\text{(B)}", "B"), ("(C)", "c"),
]

NOT_EQUIVALENT = [
    ("0.5", "50"), ("1/2", "50%"), ("1/3", "0.33"), ("1/3", "0.333333"), ("1/3", "0.3333333333"), (r"\pi", "3.14"),
    (r"\sqrt{2}", "1.414"), ("2", "x = 3"), ("x = 2", "y = 2"), ("2", "-2"), ("2, 3", "2"), ("2, 3", "2, 3, 4"),
    ("(1, 2)", "(2, 1)"), ("[1, 2)", "[1, 2]"), ("(1, 2]", "(1, 2)"), (r"(-\infty, 3)", "x <= 3"),
    ("x^2+2x+1", "x^2+1"), ("2x+6", "2x+3"), ("1000", "100"), ("1,000", "1"), ("5", "55"), (r"\frac{3}{4}", "4/3"),
    ("x = 2 or x = -2", "x = 2"), ("y = 2x + 1", "y = 2x - 1"), ("12", "twelve"), (r"\text{(B)}", "C"),
    ("10", "10^{10^{10^{10}}}"), ("0", ""),
    ("8/3", "4 2/3"), ("2", "2ex"), (r"\emptyset", "0"), ("(-2, 2)", "-2 < x <= 2"), ("x = 1, y = 2", "(2, 1)"),
]


@pytest.mark.parametrize("reference, answer", EQUIVALENT)
def test_equivalent(reference, answer):
    verdict = grade(reference, answer, timeout=10)
    assert verdict.equivalent, verdict.reason


@pytest.mark.parametrize("reference, answer", NOT_EQUIVALENT)
def test_not_equivalent(reference, answer):
    verdict = grade(reference, answer, timeout=10)
    assert not verdict.equivalent, verdict.reason
    assert verdict.reason


def test_table_is_big_enough():
    assert len(EQUIVALENT) + len(NOT_EQUIVALENT) >= 80


def test_rounded_decimal_is_explained():
    verdict = grade("1/3", "0.33", timeout=10)
    assert "exact" in verdict.reason


@pytest.mark.parametrize("answer, words", [
    ("10^{10^{10^{10}}}", "too large"),
    ("{" * 10000 + "1" + "}" * 10000, "nested too deeply"),
    ("7" * 1_000_000, "too long"),
    ("9" * 1500 + "^" + "9" * 300, "too large"),
])
def test_pathological_input_returns_quickly_with_a_reason(answer, words):
    started = time.monotonic()
    verdict = grade("1", answer, timeout=2)
    assert time.monotonic() - started < 2.5
    assert not verdict.equivalent and words in verdict.reason


# Equal, but confirming it means expanding a 40th power: many seconds of pure-Python SymPy.
SLOW_REFERENCE = "((x+y+z+w)^40)(x-y)"
SLOW_ANSWER = "(x+y+z+w)^40 x - (x+y+z+w)^40 y"


def test_timeout_off_the_main_thread_kills_the_work_and_the_pool_recovers():
    grade("1", "1", timeout=10)  # a warm pool, so the timing below is the timeout alone
    results = {}

    def slow():
        started = time.monotonic()
        results["verdict"] = grade(SLOW_REFERENCE, SLOW_ANSWER, timeout=1.0)
        results["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=slow)
    worker.start()
    worker.join(30)
    assert not worker.is_alive()
    assert results["elapsed"] < 1.8
    assert not results["verdict"].equivalent and "longer than 1 s" in results["verdict"].reason
    # the killed worker is replaced: the next comparisons still work, within a respawn
    assert grade("1/2", "0.5", timeout=30).equivalent


def test_concurrent_grades_from_many_threads_are_all_right():
    pairs = [("1/2", "0.5", True), ("2, 3", "3, 2", True), ("1/3", "0.33", False), ("x = 4", "4", True)] * 5
    out: list[tuple[bool, bool]] = []
    lock = threading.Lock()

    def run(ref, ans, expected):
        got = grade(ref, ans, timeout=20).equivalent
        with lock:
            out.append((got, expected))

    threads = [threading.Thread(target=run, args=p) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(out) == len(pairs) and all(got == expected for got, expected in out)


@pytest.mark.parametrize("text, value, expected", [
    ("Try substituting $x = 4$ into the equation.", "4", True),
    (r"So the area is \(\frac{6}{4}\) square units.", "3/2", True),
    ("We get x = 7 after subtracting.", "7", True),
    ("Half of 14 is 7", "7", True),
    (r"The result is \boxed{2\sqrt{2}}", "sqrt(8)", True),
    ("the roots are 2 and 3", "x = 2 or x = 3", True),
    ("What do you get when you subtract 3 from both sides?", "2", False),
    ("Step 2: think about which operation undoes multiplication.", "2", False),
    ("Isolate the variable first.", "5", False),
    ("Try $x = 0.33$", "1/3", False),
    ("That is 50% of the total.", "0.5", True),
    ("That is 50 of the total.", "0.5", False),
])
def test_mentions_value(text, value, expected):
    assert mentions_value(text, value, timeout=10) is expected


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from tutor.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_grade_json_and_exit_codes():
    same = _cli("grade", "--reference", r"\frac{1}{2}", "0.5", "--json")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout) == {"equivalent": True, "reason": "equal"}
    differ = _cli("grade", "--reference", "0.5", "50", "--json")
    assert differ.returncode == 0
    assert json.loads(differ.stdout)["equivalent"] is False
    plain = _cli("grade", "-r", "x = 2 or x = 3", "3, 2")
    assert plain.returncode == 0 and plain.stdout.startswith("equivalent:")
    missing = _cli("grade", "0.5")
    assert missing.returncode != 0 and "reference" in missing.stderr.lower()


def test_mentions_value_fails_safe_when_the_check_times_out():
    """A hint whose math cannot be checked in time counts as leaking (the guard then replaces it)."""
    hint = f"Compare {SLOW_ANSWER} with what you have."
    assert mentions_value(hint, SLOW_REFERENCE, timeout=0.5) is True
    assert mentions_value("Nothing to see here.", "5", timeout=10) is False


def test_workers_run_only_tutor_functions():
    from tutor.checking.workers import get_pool

    with pytest.raises(ValueError):
        get_pool().call("os:system", "true", timeout=5)


def _grade_in_child(queue):
    queue.put(grade("x = 2 or x = 3", "3, 2", timeout=20).equivalent)


def test_grade_works_in_a_forked_child_process():
    """A child forked after the parent's pool started gets its own workers, not the parent's pipes."""
    import multiprocessing

    assert grade("1", "1", timeout=20).equivalent
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_grade_in_child, args=(queue,))
    child.start()
    try:
        assert queue.get(timeout=60) is True
    finally:
        child.join(30)
    assert child.exitcode == 0
    assert grade("1/2", "0.5", timeout=20).equivalent  # the parent's pool is untouched
