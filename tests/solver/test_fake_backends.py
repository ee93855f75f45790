"""The scripted and replay backends behave like a model: stream, stop strings, budgets, failures."""

from __future__ import annotations

import json
import threading

import pytest

from tests.fixtures import data as shared_data
from tutor.solver.backends import BackendError, Failure, ReplayBackend, ScriptedBackend, get_backend
from tutor.solver.backends.replay import split_prompt, split_rounds
from tutor.solver.prompt import EOS, OUTPUT_STOP, STOP_STRINGS, build_prompt, feed_back
from tutor.settings import load_settings

TORA = str(shared_data.TORA_GSM8K)
TRAJ = "Let me compute.\n```python\nprint(6*7)\n```\n```output\n42\n```\nSo the answer is $\\boxed{42}$."


def complete(backend, prompt, max_tokens=1000, cancel=None):
    stream = backend.complete(prompt, stop=STOP_STRINGS, max_tokens=max_tokens, cancel=cancel)
    pieces = list(stream)
    return pieces, stream.result


def test_queued_replies_are_used_in_order_and_cut_at_stop_strings():
    b = ScriptedBackend(["one two three```output\nnot seen", "two" + EOS + "after"])
    pieces, gen = complete(b, "p1")
    assert "".join(pieces) == "one two three" and gen.finish == "stop" and gen.stop == OUTPUT_STOP
    assert len(pieces) > 1                      # streamed in pieces, not one blob
    _, gen = complete(b, "p2")
    assert gen.text == "two" and gen.finish == "eos"
    assert b.prompts == ["p1", "p2"] and b.pending == 0
    with pytest.raises(BackendError, match="no reply"):
        complete(b, "p3")


def test_stop_string_split_across_pieces_never_leaks():
    b = ScriptedBackend(["x = 1\n```\n``" + "`out" + "put\n5\n```"])
    pieces, gen = complete(b, "p")
    assert "".join(pieces) == "x = 1\n```\n" and not any("`out" in p for p in pieces)


def test_rules_match_the_prompt_and_play_a_trajectory_round_by_round():
    b = ScriptedBackend().add_rule(r"six times seven", TRAJ).add_rule("hint", "Try halving.", times=1)
    prompt = build_prompt("What is six times seven?")
    _, gen = complete(b, prompt)
    assert gen.text == "Let me compute.\n```python\nprint(6*7)\n```\n" and gen.finish == "stop"
    _, gen2 = complete(b, prompt + feed_back(gen.text, "42"))
    assert gen2.text == "So the answer is $\\boxed{42}$." and gen2.finish == "eos"
    assert complete(b, "give a hint")[1].text == "Try halving."
    with pytest.raises(BackendError):
        complete(b, "give a hint")               # the rule was for one use only


def test_max_tokens_and_cancel():
    b = ScriptedBackend(default="word " * 50)
    _, gen = complete(b, "p", max_tokens=5)
    assert gen.finish == "length" and gen.tokens_out == 5 and gen.text.count("word") <= 5
    cancel = threading.Event()
    stream = b.complete("p", stop=STOP_STRINGS, max_tokens=100, cancel=cancel)
    first = next(stream)
    cancel.set()
    rest = list(stream)
    assert stream.result.finish == "cancelled" and (first + "".join(rest)).count("word") < 50


def test_failure_mid_stream_raises_after_partial_text():
    b = ScriptedBackend([Failure("Half a repl", BackendError("server went away"))])
    stream = b.complete("p", stop=STOP_STRINGS, max_tokens=100)
    got = []
    with pytest.raises(BackendError, match="server went away"):
        for piece in stream:
            got.append(piece)
    assert "".join(got) == "Half a repl"


def test_scripted_file_is_selected_by_spec(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"responses": ["hello", {"text": "par", "error": "boom"}],
                                "rules": [{"match": "cube", "reply": "27"}]}))
    b = get_backend(f"scripted:{path}", load_settings().solver)
    assert isinstance(b, ScriptedBackend)
    assert complete(b, "x")[1].text == "hello"
    with pytest.raises(BackendError, match="boom"):
        complete(b, "x")
    assert complete(b, "the cube of 3")[1].text == "27"
    path.write_text("{not json")
    with pytest.raises(BackendError, match="not JSON"):
        get_backend(f"scripted:{path}", load_settings().solver)


def test_unknown_backend_and_missing_replay_file_are_clear_errors(tmp_path):
    with pytest.raises(BackendError, match="unknown backend 'gpt'"):
        get_backend("gpt", load_settings().solver)
    with pytest.raises(BackendError, match="cannot read replay file"):
        get_backend(f"replay:{tmp_path / 'nope.jsonl'}", load_settings().solver)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"foo": 1}\n')
    with pytest.raises(BackendError, match="bad.jsonl:1"):
        get_backend(f"replay:{bad}", load_settings().solver)


def test_split_rounds_and_prompt():
    assert split_rounds(TRAJ) == ["Let me compute.\n```python\nprint(6*7)\n```\n", "So the answer is $\\boxed{42}$."]
    assert split_rounds("no code") == ["no code"]
    q, assistant = split_prompt(build_prompt("Q?") + "abc\n```output\n1\n```\n")
    assert q == "Q?" and assistant.count(OUTPUT_STOP) == 1


def test_replay_plays_the_recorded_tora_text_without_its_outputs():
    b = ReplayBackend.from_file(TORA)
    assert len(b.trajectories) == 1319
    t = b.trajectories[0]
    prompt = build_prompt(t.question)
    _, gen = complete(b, prompt)
    assert gen.finish == "stop" and gen.text.endswith("print(daily_income)\n```\n")
    # whatever our sandbox printed, the next round is the recorded text after the output block
    _, gen2 = complete(b, prompt + feed_back(gen.text, "999"))
    assert gen2.text == "Janet makes $\\boxed{18}$ dollars every day at the farmers' market." and gen2.finish == "eos"
    with pytest.raises(BackendError, match="no recorded trajectory"):
        complete(b, build_prompt("What is the airspeed of an unladen swallow?"))


def test_function_replies_are_one_generation_unless_they_hold_a_trajectory():
    prompt = build_prompt("What is six times seven?")
    b = ScriptedBackend(default=lambda p: TRAJ)
    first = complete(b, prompt)[1]
    assert first.text == "Let me compute.\n```python\nprint(6*7)\n```\n"
    assert complete(b, prompt + feed_back(first.text, "42"))[1].text == "So the answer is $\\boxed{42}$."
    # a function that writes one round itself (no complete output block) is used as it is
    b = ScriptedBackend(default=lambda p: "Again.\n```python\nprint(1)\n```\n```output")
    first = complete(b, prompt)[1]
    assert complete(b, prompt + feed_back(first.text, "1"))[1].text == first.text == "Again.\n```python\nprint(1)\n```\n"


def test_stop_scanner_cuts_at_the_first_stop_string_however_the_text_is_split():
    import random

    from tutor.solver.backends import StopScanner
    rng = random.Random(7)
    texts = ["abc```output\nxyz", "no stop here at all ``` `` `", "x" + EOS + "```output", "``````output", "```outpu"]
    for text in texts:
        cut = min([i for i in (text.find(s) for s in STOP_STRINGS) if i >= 0], default=len(text))
        for _ in range(200):
            scanner, shown, i = StopScanner(STOP_STRINGS), [], 0
            while i < len(text) and scanner.hit is None:
                j = i + rng.randint(1, 4)
                shown.append(scanner.feed(text[i:j]))
                i = j
            shown.append(scanner.flush())
            assert "".join(shown) == text[:cut] == scanner.text
