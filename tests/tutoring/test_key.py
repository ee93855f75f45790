"""The private answer key: steps read off the model's executed program (real ToRA trajectories), and
confirmation that counts only what recomputes, with real kernels and the scripted model."""

from __future__ import annotations

import ast
import json
import re

import pytest

from tests.fixtures.data import TORA_GSM8K
from tests.tutoring.world import PROBLEM, VERIFY_BAD, World, tutor_settings
from tutor.tutoring.key import prepare_key
from tutor.tutoring.key_program import expr_words
from tutor.tutoring.key_steps import derive_steps, reasoning_before_cells
from tutor.tutoring.verification import meaningful_check

PRINT_TRUE = "```python\nprint(True)\n```\n```output\nTrue\n```\nThe answer is correct."


def tora(idx: int) -> dict:
    with open(TORA_GSM8K, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["idx"] == idx:
                return row
    raise LookupError(idx)


def derive(row: dict, kernel, max_steps: int = 6):
    text = row["code"][0]
    cells = re.findall(r"```python\n(.*?)```", text, re.S)
    return derive_steps(cells, kernel, row["pred"][0], max_steps=max_steps, timeout=10,
                        reasoning=reasoning_before_cells(text))


def test_steps_are_the_values_the_kernel_computed_for_the_models_own_program(sandbox_session):
    # Janet's ducks: eggs_left = 16 - 3 - 4, daily_income = eggs_left * 2, inside a function
    ducks = derive(tora(0), sandbox_session)
    assert [s.result for s in ducks.steps] == ["9", "18"]
    assert [s.expression for s in ducks.steps] == ["eggs_per_day - eggs_eaten - eggs_baked",
                                                   "eggs_left * price_per_egg"]
    assert "eggs left" in ducks.steps[0].description and "9" not in ducks.steps[0].description
    # one statement, three factors: 3 sprints x 3 times a week is its own step before x 60 metres
    sprints = derive(tora(3), sandbox_session)
    assert [s.result for s in sprints.steps] == ["9", "540"]
    assert "sprints per day × days per week" in sprints.steps[0].description
    # givens (glass_cost = 5) are not steps; a float the program printed as 64.0 reads back as 64
    glasses = derive(tora(5), sandbox_session)
    assert [s.result for s in glasses.steps] == ["3", "8", "8", "64"]


def test_a_problem_that_is_one_operation_says_so(sandbox_session):
    one = derive(tora(16), sandbox_session)     # distance_day1 + distance_day2
    assert [s.result for s in one.steps] == ["230"]
    assert "one step" in one.note


def test_too_many_steps_fold_into_the_last_statements(sandbox_session):
    many = derive(tora(8), sandbox_session, max_steps=3)   # six distance statements
    assert len(many.steps) == 3 and many.steps[-1].result == "285"


def test_a_program_that_computes_nothing_gives_no_steps(sandbox_session):
    derived = derive_steps(["print('hello')", "x = 7"], sandbox_session, "7", max_steps=6, timeout=10)
    assert derived.steps == () and "no computing statement" in derived.note


def test_key_is_confirmed_by_substitution_and_a_recomputing_check(sandbox_session, tmp_path):
    world = World()
    key = prepare_key(PROBLEM, backend=world.backend(), runner=sandbox_session, settings=tutor_settings(tmp_path))
    assert key.answer == "7" and key.verified and key.status == "verified" and key.gradable
    assert [(s.result, s.computed) for s in key.steps] == [("14", True), ("7", True)]
    outcomes = {c.method: c.outcome for c in key.confirmations}
    assert outcomes == {"substitution": "agrees", "program": "agrees", "second_route": "not counted"}
    assert key.verification.startswith("confirmed:") and "2 steps from the model's executed program" in key.verification
    assert "```output" in key.solution_text


def test_a_check_that_finds_the_answer_wrong_leaves_the_key_unconfirmed(sandbox_session, tmp_path):
    world = World(verify=VERIFY_BAD)
    key = prepare_key(PROBLEM, backend=world.backend(), runner=sandbox_session, settings=tutor_settings(tmp_path))
    assert key.answer == "7" and not key.verified and not key.gradable
    assert "program: disagrees" in key.verification


WORD_PROBLEM = "A farmer has 4 pens with 6 hens in each pen, and buys 5 more hens. How many hens does he have?"
# a slip a 7B model makes: adds the hens per pen instead of multiplying (the right answer is 29)
WRONG_SOLVE = ("```python\npens = 4\nhens_per_pen = 6\nhens_in_pens = pens + hens_per_pen\n"
               "hens = hens_in_pens + 5\nprint(hens)\n```\n```output\n15\n```\nHe has $\\boxed{15}$ hens.")


def test_a_bare_print_true_confirms_nothing(sandbox_session, tmp_path):
    world = World(solve=WRONG_SOLVE, verify=PRINT_TRUE)
    key = prepare_key(WORD_PROBLEM, backend=world.backend(), runner=sandbox_session, settings=tutor_settings(tmp_path))
    assert key.answer == "15" and not key.verified and not key.gradable
    program = next(c for c in key.confirmations if c.method == "program")
    assert program.outcome == "not counted" and "without comparing" in program.detail
    # the steps are still the ones its program computed (the key is wrong, but honestly so)
    assert [s.result for s in key.steps] == ["10", "15"]


def test_without_a_kernel_the_key_is_unconfirmed_and_one_step(tmp_path):
    world = World(solve="2x = 14 so \\boxed{7}.")
    key = prepare_key(PROBLEM, backend=world.backend(), runner=None, settings=tutor_settings(tmp_path))
    assert key.answer == "7" and len(key.steps) == 1 and "no kernel" in key.steps_note
    assert any("no kernel" in p for p in key.problems)
    # the problem's own equation still confirms it: the system substitutes the answer itself
    assert [c.method for c in key.confirmations if c.outcome == "agrees"] == ["substitution"]
    # with a teacher's reference that agrees, the answer stands but nothing was executed
    ref = prepare_key(PROBLEM, backend=world.backend(), runner=None, settings=tutor_settings(tmp_path), reference="7")
    assert ref.source == "reference" and not ref.disagreement and not ref.verified and ref.gradable


@pytest.mark.parametrize("program, meaningful", [
    ("print(True)", False),
    ("x = 15\nprint(x == x)", False),
    ("answer = 15\nexpected = 15\nprint(answer == expected)", False),
    ("print(4 * 6 + 5 == 29)", False),                     # recomputes, but not the proposed 15
    ("print(4 * 6 + 5 == 15)", True),                      # recomputes and compares: prints False
    ("def check(ans):\n    return ans - 5 == 4 * 6\nprint(check(15))", True),
    ("total = sum([6] * 4) + 5\nprint(total == 15)", True),
    ("this is not python", False),
])
def test_a_check_program_counts_only_when_it_recomputes_from_the_problem(program, meaningful):
    ok, why = meaningful_check([program], WORD_PROBLEM, "15")
    assert ok is meaningful, why


@pytest.mark.parametrize("code, words", [
    ("eggs_per_day - eggs_eaten - eggs_baked", "eggs per day − eggs eaten − eggs baked"),
    ("(glass_cost + second_glass_cost) * (total_glasses / 2)", "(glass cost + second glass cost) × (total glasses ÷ 2)"),
    ("solve(2*x + 3 - 17, x)", "solve 2 × x + 3 − 17 = 0 for x"),
    ("solve(equation, x)", "solve equation for x"),
    ("solve((eq1, eq2), (x, y))", "solve eq1 and eq2 for x and y"),
    ("math.ceil(total / per_box)", "total ÷ per box, rounded up"),
    ("max(profit_jewelry, profit_gadgets)", "the larger of profit jewelry and profit gadgets"),
])
def test_steps_are_worded_the_way_a_student_reads_the_code(code, words):
    assert expr_words(ast.parse(code, mode="eval").body) == words
