"""The hint ladder's prompts, guard and kernel-checked claims (the key itself: tests/tutoring/test_key.py)."""

from __future__ import annotations

from tests.tutoring.world import PROBLEM
from tutor.checking.prose import claimed_equalities, fragments
from tutor.tutoring.guard import check_claims, check_hint, mentions
from tutor.tutoring.hints import generate_hint, hidden_values, hint_prompt
from tutor.tutoring.key import AnswerKey, KeyStep
from tutor.solver.prompt import BOS

KEY = AnswerKey("7", (KeyStep(1, "Subtract 3 from both sides", "14", True), KeyStep(2, "Divide by 2", "7", True)),
                True, "confirmed", "model", model_answer="7")


def test_hint_prompts_are_deepseekmath_turns_and_only_the_bottom_out_knows_the_result():
    for level in (1, 2, 3, 4):
        p = hint_prompt(PROBLEM, KEY, KEY.steps[0], level, previous=["earlier hint"], student_work=["2x = 14"])
        assert p.startswith(BOS + "User: ") and p.endswith("\n\nAssistant:")
        assert "System" not in p and "earlier hint" in p and "2x = 14" in p
        assert ("The result of this step is: 14" in p) == (level == 4)


def test_hidden_values_per_rung():
    step1, step2 = KEY.steps
    assert hidden_values(KEY, step1, 2) == ("7", {1: "14", 2: "7"})
    # the bottom-out of step 1 may show 14 but still not the later result or the answer
    assert hidden_values(KEY, step1, 4) == ("7", {2: "7"})
    assert hidden_values(KEY, step2, 4) == (None, {})


def test_check_hint_names_what_leaks_and_what_is_wrong(sandbox_session):
    verdict = check_hint("so that 2x = 14, which means x = 7.", "7", {1: "14"}, timeout=10)
    assert verdict.leak and set(verdict.leaked) == {"final answer", "step 1 result"}
    assert "gives away" in verdict.reason and "7" not in verdict.reason    # labels, never the hidden values
    assert not check_hint("What is being done to x?", "7", ["14"], timeout=10).leak
    wrong = check_hint("Remember that $17 - 3 = 15$.", "7", timeout=10, runner=sandbox_session)
    assert not wrong.leak and not wrong.ok and wrong.wrong_claims == ("17 - 3 = 15",)


def test_the_guard_reads_maths_between_words():
    assert fragments("Subtract 3 so that 2x = 14, which means x = 7.") == ["3", "2x = 14", "x = 7"]
    assert mentions("so that 2x = 14, which means x = 7.", "7", 10)
    assert mentions(r"Try $x = \frac{21}{3}$.", "7", 10)          # no "7" in the text at all
    assert not mentions("What is being done to x?", "7", 10)
    assert fragments("The point (3, 4) is on it") == ["(3, 4)"]


def test_claims_are_redone_in_the_kernel(sandbox_session):
    text = r"Remember $17 - 3 = 14$ and 2 + 2 = 5, and $2x + 3 - 3 = 2x$ while $2x = 14$."
    claims = claimed_equalities(text)
    assert ("17 - 3", "14") in claims and ("2 + 2", "5") in claims
    verdicts = {c.claim: c.holds for c in check_claims(text, sandbox_session)}
    assert verdicts["17 - 3 = 14"] is True
    assert verdicts["2 + 2 = 5"] is False
    assert verdicts["2x + 3 - 3 = 2x"] is True          # an identity holds
    assert verdicts["2x = 14"] is None                    # an equation to solve is neither true nor false
    assert check_claims("No claims here.", sandbox_session) == []


def test_a_model_that_fails_gets_a_safe_fallback_hint():
    def broken(prompt, max_tokens):
        raise RuntimeError("server gone")
    result = generate_hint(broken, PROBLEM, KEY, KEY.steps[0], 2)
    assert result.fallback and result.generations == 0 and result.guard == "fallback"
    assert not mentions(result.text, "14", 10) and not mentions(result.text, "7", 10)
    bottom = generate_hint(broken, PROBLEM, KEY, KEY.steps[0], 4)
    assert "14" in bottom.text                             # the bottom-out fallback still works the step



def test_the_hint_prompt_carries_what_the_key_computed_and_how_the_student_did():
    key = AnswerKey("7", (KeyStep(1, "Subtract 3 from both sides", "14", True, "rhs = 17 - 3"),
                          KeyStep(2, "Divide by 2", "7", True, "x = rhs / 2")), True, "confirmed", "model")
    attempts = [("step", "2x = 15", "invalid"), ("answer", "8", "incorrect")]
    p = hint_prompt(PROBLEM, key, key.steps[1], 2, student_work=["2x = 14"], attempts=attempts)
    assert "step 1 gives 14" in p and "computed as: x = rhs / 2" in p
    assert "'2x = 15': does not follow" in p and "answer '8': is not the answer" in p
    assert "7" not in p.split("Problem:")[1].replace("17", "")      # rung 2 is not told the step's value
    assert "this step's result is 7" in hint_prompt(PROBLEM, key, key.steps[1], 3)   # rung 3 is, as a secret
    solved = hint_prompt(PROBLEM, key, key.steps[1], 2, solved=True)
    assert "The student is on step" not in solved and "already solved" in solved
