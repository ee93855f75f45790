"""Whole worked solutions against a key: reading real lines, the key from a teacher's worked solution,
the first wrong line and its kind, MathDial's real student work, and `mathtutor check-work`."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from tutor.checking.work import check_work
from tutor.checking.workkey import WorkKeyError, key_from_solution, key_from_steps
from tutor.checking.worklines import read_line, read_work

MATHDIAL = Path(__file__).resolve().parents[2].parent / "shared/data/mathdial/mathdial_dev.jsonl"
ANNOTATED = Path(__file__).resolve().parents[1] / "fixtures/mathdial_first_wrong_lines.jsonl"

JULIA = ("Julia bought a pack of spoons. Her husband bought another pack of 5 spoons. Julia used 3 spoons to "
         "sample her stew. When she went to set the table she had 12 spoons. How many spoons were in the "
         "package that Julia bought?")
JULIA_REFERENCE = "Julia had 12 + 3 = 15 spoons before she used some.\nSo her pack had 15 - 5 = 10 spoons.\n#### 10"
JULIA_WORK = ("Julia used 3 spoons to sample her stew, so she had 12 - 3 = 9 spoons left.\n"
              "We know that the total number of spoons is x + 5, so we can set up an equation: x + 5 = 9\n"
              "x = 4")


@pytest.mark.parametrize("line, sides", [
    ("Julia had 12 - 3 = 9 spoons left.", [("12 - 3", "9")]),
    ("3 bids * $50 per bid = $150 added", [("3 * 50", "150")]),
    ("The desk costs $200 opening bid + $300 added cost = $500.", [("200 + 300", "500")]),
    ("She pays $2.00 x 20 = $40.00", [("2.00 * 20", "40.00")]),
    ("3 × 4 = 12 and 12 ÷ 2 = 6", [("3 * 4", "12"), ("12 / 2", "6")]),
    ("She gets 20% of $50 = $10", [("((20)/100) * 50", "10")]),
    ("2/5*80=32 people missed it", [("(2/5) * 80", "32")]),
    (r"so $\frac{3}{4} \times 20 = 15$ apples", [("( ( 3 ) / ( 4 ) ) * 20", "15")]),
    ("perimeter = 2(3 yards x 3 ft/yd + 120 ft)", [("2 * ( 3 * 3 + 120 )",)]),
    ("5 seconds * 60 potatoes / 60 seconds per minute = 5 minutes", [("5 * 60 / 60", "5")]),
    ("Ella wanted 2 while Emma wanted 2 so 2+2 = 4 hotdogs", [("2 + 2", "4")]),
    ("1 hour = 60 minutes, so he runs 2 hours * 60 minutes = 120 minutes.", [("2 * 60", "120")]),
    ("From 5 pm-6 pm they serve 12*4 = 48 cars", [("12 * 4", "48")]),
])
def test_calculations_are_read_from_prose(line, sides):
    assert [c.sides for c in read_line(line).chains] == sides


def test_an_unknown_word_and_stated_quantities():
    chain, = read_line("360 = 3 x width").chains
    assert chain.sides == ("360", "3 * _u") and chain.unknown == "width"
    assert read_line("Carmen bid after each of the other three people, so she made 3 bids.").numbers == ("3", "3")
    assert len(read_work("a\n\n  \nb 4\n")) == 2   # lines count the non-empty lines


def test_the_reference_solution_is_recomputed_not_trusted():
    key = key_from_solution("p", "Julia had 12 + 3 = 16 spoons.\nSo 16 - 5 = 11.\n#### 11")
    assert [s.value for s in key.steps][:1] == [Fraction(15)]
    assert any("is 15, not 16" in n for n in key.notes)
    gsm8k = key_from_solution("p", "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
                                   "Altogether she sold 48+24 = <<48+24=72>>72 clips.\n#### 72")
    assert gsm8k.answer == 72 and [s.value for s in gsm8k.steps] == [24, 72]
    with pytest.raises(WorkKeyError):
        key_from_solution("p", "She has some apples.")


def test_work_with_right_arithmetic_but_the_wrong_operation():
    verdict = check_work(JULIA_WORK, key_from_solution(JULIA, JULIA_REFERENCE))
    assert not verdict.correct
    assert verdict.first_wrong_line == 1 and verdict.kind == "wrong_operation"
    assert "line 1" in verdict.feedback and not re.search(r"\b1[05]\b", verdict.feedback)


def test_another_valid_way_is_correct_and_a_slip_is_found():
    problem = ("Charlie makes 10 candles from one pound of beeswax, which costs $10.00 with the wicks. He sells "
               "each candle for $2.00. What is his net profit if he makes and sells 20 candles?")
    key = key_from_solution(problem, "He needs 20/10 = 2 pounds\nSupplies cost 10*2 = $20.00\n"
                                     "He sells 2*20 = $40.00\nHis profit is 40-20 = $20.00\n 20")
    other_way = ("Each candle costs $10.00 / 10 = $1.00 in supplies.\n"
                 "He makes $2.00 - $1.00 = $1.00 per candle.\nSo 20 x $1.00 = $20.00 profit.")
    assert check_work(other_way, key).correct
    slip = "He needs 20/10 = 2 pounds.\nSupplies cost 10 x 2 = $20.\nHe sells 2 x 20 = $42.\nProfit 42 - 20 = $22"
    verdict = check_work(slip, key)
    assert (verdict.correct, verdict.first_wrong_line, verdict.kind) == (False, 3, "arithmetic")
    assert "20" not in verdict.feedback and "40" not in verdict.feedback
    extra = check_work("20/10 = 2 pounds\n10 x 2 = $20\n2 x 20 = $40\n40 - 20 = $20\n20 / 20 = 1 dollar each", key)
    assert (extra.first_wrong_line, extra.kind) == (5, "extra_step")


def test_a_unit_slip_at_the_end():
    problem = "It takes 1.5 minutes to peel a potato and 5 seconds to cut it. How long for 60 potatoes?"
    key = key_from_solution(problem, "60 * 1.5 = 90 minutes\n5 seconds * 60 / 60 = 5 minutes\n90 + 5 = 95 minutes\n 95")
    work = "1.5 minutes is 90 seconds.\n90 x 60 = 5400 seconds\n5 x 60 = 300 seconds\n5400 + 300 = 5700 seconds"
    verdict = check_work(work, key)
    assert (verdict.correct, verdict.first_wrong_line, verdict.kind) == (False, 4, "unit_slip")


def test_only_an_answer_key_still_finds_no_correct_path():
    key = key_from_steps(JULIA, "10", [("the answer", "10")])
    assert check_work("12 + 3 = 15\n15 - 5 = 10", key).correct
    assert not check_work("12 - 3 = 9\n9 - 5 = 4", key).correct
    assert check_work("", key).kind == "no_answer"


def _mathdial():
    if not MATHDIAL.exists():
        pytest.skip(f"{MATHDIAL} is not here")
    return [json.loads(line) for line in MATHDIAL.open(encoding="utf-8")]


def test_mathdial_students_are_not_correct_and_references_are():
    rows = _mathdial()
    assert len(rows) == 229
    for row in rows:
        key = key_from_solution(row["question"], row["ground_truth"])
        assert check_work(row["ground_truth"], key).correct, row["qid"]
        assert not check_work(row["student_incorrect_solution"], key).correct, row["qid"]


def test_mathdial_first_wrong_lines_on_the_annotated_sample():
    rows = _mathdial()
    notes = [json.loads(line) for line in ANNOTATED.open(encoding="utf-8")]
    assert len(notes) >= 40 and all(n["reason"] for n in notes)
    found = 0
    for n in notes:
        row = rows[n["row"]]
        assert row["qid"] == n["qid"]
        verdict = check_work(row["student_incorrect_solution"], key_from_solution(row["question"], row["ground_truth"]))
        found += verdict.first_wrong_line in [n["first_wrong_line"], *n["also_defensible"]]
    assert found / len(notes) >= 0.75, f"{found}/{len(notes)}"


def test_check_work_command(tmp_path):
    from tutor.cli import main

    work = tmp_path / "work.txt"
    work.write_text(JULIA_WORK + "\n\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check-work", "--problem", JULIA, "--reference-solution", JULIA_REFERENCE,
                                       "--json", str(work)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["correct"] is False and out["first_wrong_line"] == 1 and out["kind"] == "wrong_operation"
    assert set(out) == {"correct", "first_wrong_line", "kind", "feedback"}
    result = CliRunner().invoke(main, ["check-work", "--problem", JULIA, "--reference", "10", "-"],
                                input="12 + 3 = 15\n15 - 5 = 10\n")
    assert result.exit_code == 0 and result.output.startswith("correct")
    both = CliRunner().invoke(main, ["check-work", "--problem", JULIA, "--reference", "10",
                                     "--reference-solution", "1+1=2", str(work)])
    assert both.exit_code != 0 and "exactly one" in both.output
    empty = CliRunner().invoke(main, ["check-work", "--problem", JULIA, "--reference", "10", "-"], input="\n")
    assert empty.exit_code != 0 and "empty" in empty.output


def test_check_work_with_the_models_key(tmp_path):
    from tutor.cli import main

    solve = "She had 12 + 3 = 15 spoons, so the pack had 15 - 5 = 10 spoons. The answer is $\\boxed{10}$."
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"match": "Please reason step by step|Please integrate", "reply": solve},
                                            {"match": ".", "reply": "I cannot tell."}]}), encoding="utf-8")
    result = CliRunner().invoke(main, ["check-work", "--problem", JULIA, "--backend", f"scripted:{script}", "--json",
                                       "-"], input=JULIA_WORK)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["correct"] is False and out["first_wrong_line"] == 1
    bad = CliRunner().invoke(main, ["check-work", "--problem", JULIA, "--backend", "nosuch:x", "-"], input=JULIA_WORK)
    assert bad.exit_code != 0 and "Traceback" not in bad.output
