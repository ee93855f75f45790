"""The prompt is DeepSeekMath's format to the character; tool rounds are fed back as in training."""

from __future__ import annotations

import pytest

from types import SimpleNamespace

from tutor.solver.prompt import (BOS, COT_SUFFIX, EOS, OUTPUT_STOP, TIR_SUFFIX, PromptError, build_prompt, feed_back,
                          format_observation, last_python_block, wants_code_run)


def test_special_tokens_and_suffixes_are_exact():
    assert BOS == "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
    assert EOS == "<\uff5cend\u2581of\u2581sentence\uff5c>"
    assert OUTPUT_STOP == "```output"
    assert TIR_SUFFIX == ("Please integrate natural language reasoning with programs to solve the problem above, "
                          "and put your final answer within \\boxed{}.")
    assert COT_SUFFIX == "Please reason step by step, and put your final answer within \\boxed{}."


def test_single_question_tir_and_cot():
    assert build_prompt("What is 2+2?") == (
        "<｜begin▁of▁sentence｜>User: What is 2+2?\nPlease integrate natural language reasoning with programs "
        "to solve the problem above, and put your final answer within \\boxed{}.\n\nAssistant:")
    assert build_prompt("  What is 2+2?\n", mode="cot") == (
        "<｜begin▁of▁sentence｜>User: What is 2+2?\nPlease reason step by step, and put your final answer "
        "within \\boxed{}.\n\nAssistant:")
    assert build_prompt("Hi", mode="none") == "<｜begin▁of▁sentence｜>User: Hi\n\nAssistant:"


def test_history_joins_turns_with_eos_and_suffixes_only_the_last_question():
    history = [{"role": "user", "content": "Solve x+1=3."},
               {"role": "assistant", "content": "x = 2, so \\boxed{2}. "},
               ("user", "And x+2=3?")]
    assert build_prompt(history, mode="cot") == (
        "<｜begin▁of▁sentence｜>User: Solve x+1=3.\n\nAssistant: x = 2, so \\boxed{2}.<｜end▁of▁sentence｜>"
        "User: And x+2=3?\nPlease reason step by step, and put your final answer within \\boxed{}.\n\nAssistant:")


@pytest.mark.parametrize("bad", ["", "   ", [], [{"role": "assistant", "content": "hi"}],
                                 [{"role": "system", "content": "be nice"}, {"role": "user", "content": "q"}],
                                 [{"role": "user", "content": 3}], ["just text"]])
def test_bad_input_is_a_clear_error(bad):
    with pytest.raises(PromptError):
        build_prompt(bad)


def test_unknown_mode_is_refused():
    with pytest.raises(PromptError, match="unknown mode"):
        build_prompt("q", mode="pal")


def test_code_detection_takes_the_last_python_block():
    text = "First\n```python\nx = 1\n```\n```output\n1\n```\nThen\n```python\nprint(x + 1)\n```\n"
    assert wants_code_run(text)
    assert last_python_block(text) == "print(x + 1)"
    assert not wants_code_run("The answer is \\boxed{2}.")
    assert not wants_code_run("```\nnot python\n```")


def test_observation_format_matches_training():
    assert format_observation("18\n") == "18"
    long = "".join(str(i % 10) for i in range(250))
    cut = format_observation(long)
    assert cut == long[:50] + "..." + long[-50:]
    assert format_observation("x" * 100) == "x" * 100      # exactly 100 characters is not cut
    err = SimpleNamespace(type="NameError", message="name 'y' is not defined", traceback="Traceback ...")
    assert format_observation("printed before\n", err) == "Runtime errors: NameError: name 'y' is not defined"
    assert format_observation("", None, timed_out=True) == "Runtime errors: Timeout Error"
    assert format_observation("", {"type": "ZeroDivisionError", "message": "division by zero"}) == \
        "Runtime errors: ZeroDivisionError: division by zero"


def test_feed_back_appends_an_output_block():
    assert feed_back("Compute.\n```python\nprint(1)\n```\n\n", "1") == \
        "Compute.\n```python\nprint(1)\n```\n```output\n1\n```\n"
