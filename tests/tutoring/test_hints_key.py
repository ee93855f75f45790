"""The hint ladder's prompts, guard and kernel-checked claims; the solution key's verification and steps."""

from __future__ import annotations

from tests.tutoring.world import PROBLEM, VERIFY_BAD, World, tutor_settings
from tutor.tutoring.guard import check_claims, check_hint, claimed_equalities, math_fragments, mentions
from tutor.tutoring.hints import generate_hint, hidden_values, hint_prompt
from tutor.tutoring.key import KeyStep, SolutionKey, parse_steps, prepare_key
from tutor.solver.prompt import BOS

KEY = SolutionKey("7", (KeyStep(1, "Subtract 3 from both sides", "14", True), KeyStep(2, "Divide by 2", "7", True)),
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
    assert math_fragments("Subtract 3 so that 2x = 14, which means x = 7.") == ["3", "2x = 14", "x = 7"]
    assert mentions("so that 2x = 14, which means x = 7.", "7", 10)
    assert mentions(r"Try $x = \frac{21}{3}$.", "7", 10)          # no "7" in the text at all
    assert not mentions("What is being done to x?", "7", 10)
    assert math_fragments("The point (3, 4) is on it") == ["(3, 4)"]


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


def test_key_is_verified_by_a_second_program_and_steps_are_computed(sandbox_session, tmp_path):
    world = World()
    key = prepare_key(PROBLEM, backend=world.backend(), runner=sandbox_session, settings=tutor_settings(tmp_path))
    assert key.answer == "7" and key.verified and key.status == "verified"
    assert [(s.result, s.computed) for s in key.steps] == [("14", True), ("7", True)]
    assert "```output" in key.solution_text


def test_key_that_fails_verification_is_unverified(sandbox_session, tmp_path):
    world = World(verify=VERIFY_BAD)
    key = prepare_key(PROBLEM, backend=world.backend(), runner=sandbox_session, settings=tutor_settings(tmp_path))
    assert key.answer == "7" and not key.verified and "found the answer wrong" in key.verification


def test_step_results_the_kernel_cannot_compute_keep_the_models_text(sandbox_session, tmp_path):
    world = World(steps="**Step 1:** Subtract 3 => undefined_thing(3)\nStep 2: Divide => 7")
    key = prepare_key(PROBLEM, backend=world.backend(), runner=sandbox_session, settings=tutor_settings(tmp_path))
    assert [(s.result, s.computed) for s in key.steps] == [("undefined_thing(3)", False), ("7", True)]


def test_without_a_kernel_the_key_is_marked_unverified(tmp_path):
    world = World(solve="2x = 14 so \\boxed{7}.")
    key = prepare_key(PROBLEM, backend=world.backend(), runner=None, settings=tutor_settings(tmp_path))
    assert key.answer == "7" and not key.verified
    assert any("no kernel" in p for p in key.problems)
    # with a teacher's reference that agrees, the answer still stands but nothing was executed
    ref = prepare_key(PROBLEM, backend=world.backend(), runner=None, settings=tutor_settings(tmp_path), reference="7")
    assert ref.source == "reference" and not ref.disagreement and not ref.verified


def test_step_lines_are_parsed_in_order():
    text = "Here you go.\nStep 1: Subtract 3 => 17 - 3\n**Step 2:** Divide by 2 => $7$.\nStep 3: nothing here"
    assert parse_steps(text, 6) == [("Subtract 3", "17 - 3"), ("Divide by 2", "7")]
    assert parse_steps(text, 1) == [("Subtract 3", "17 - 3")]
