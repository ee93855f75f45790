"""The in-process transformers backend on the tiny DeepSeekMath-style model: token boundaries,
streaming, stop strings, KV cache reuse across tool rounds, concurrent turns, limits, errors."""

from __future__ import annotations

import threading
import time

import pytest

from tests.fixtures.tiny_model import TRAJECTORIES
from tutor.solver.backends import BackendError, ContextFull, get_backend
from tutor.solver.backends.replay import split_rounds
from tutor.events import ErrorEvent
from tutor.solver.loop import run_turn
from tutor.solver.prompt import BOS, EOS, STOP_STRINGS, build_prompt, feed_back, user_content
from tutor.settings import load_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    from tutor.solver.backends.transformers import TransformersBackend
    b = TransformersBackend(str(tiny_model_dir))
    yield b
    b.close()


def test_prompt_token_boundaries(backend):
    tok = backend.tokenizer
    prompt = build_prompt("What is 1+1?")
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    pieces = tok.convert_ids_to_tokens(ids)
    # exactly one BOS, as a single special token, then `User:`; the prompt ends `\n`, `\n`, `Assistant`, `:`
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
    assert pieces[:3] == [BOS, "User", ":"] and pieces[-4:] == ["Ċ", "Ċ", "Assistant", ":"]
    assert pieces[3:9] == ["ĠWhat", "Ġis", "Ġ1", "+", "1", "?"] and pieces[9:11] == ["Ċ", "Please"]
    assert tok.decode(ids) == prompt
    # EOS text is the single EOS token; plain text gets BOS in front, as DeepSeekMath's tokenizer does
    assert tok(EOS, add_special_tokens=False)["input_ids"] == [tok.eos_token_id]
    assert tok("What")["input_ids"][0] == tok.bos_token_id
    # our prompt is the model's own chat template, character for character
    chat = [{"role": "user", "content": user_content("What is 1+1?")}]
    assert tok.apply_chat_template(chat, add_generation_prompt=True, tokenize=False) == prompt
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
               {"role": "user", "content": "What is 1+1?"}]
    templated = tok.apply_chat_template([*history[:2], {"role": "user", "content": user_content("What is 1+1?")}],
                                        add_generation_prompt=True, tokenize=False)
    assert templated == build_prompt(history)


def test_streams_and_stops_at_the_output_marker(backend):
    prompt = build_prompt("What is six times seven?")
    stream = backend.complete(prompt, stop=STOP_STRINGS, max_tokens=100)
    pieces = list(stream)
    gen = stream.result
    assert len(pieces) > 5 and "".join(pieces) == " Let me compute.\n```python\nprint(6*7)\n```\n"
    assert gen.finish == "stop" and gen.stop == "```output" and gen.first_token_s is not None
    assert gen.tokens_in == backend.count_tokens(prompt)
    stream = backend.complete(prompt + feed_back(gen.text, "42"), stop=STOP_STRINGS, max_tokens=100)
    assert stream.text() == "The answer is $\\boxed{42}$." and stream.result.finish == "eos"


def test_the_cache_is_reused_across_tool_rounds(backend):
    prompt = build_prompt("Set y to 5, then double it.")
    first = backend.complete(prompt, stop=STOP_STRINGS, max_tokens=100, cache_key="turn-1")
    first.text()
    second_prompt = prompt + feed_back(first.result.text, "5")
    before = dict(backend.stats)
    second = backend.complete(second_prompt, stop=STOP_STRINGS, max_tokens=100, cache_key="turn-1")
    text = second.text()
    encoded = backend.stats["prefill_tokens"] - before["prefill_tokens"]
    gen = second.result
    # only the new tokens (the output block) were run through the model, not the whole prompt
    assert gen.tokens_cached > 0 and encoded == gen.tokens_in - gen.tokens_cached
    assert encoded < 12 < gen.tokens_in
    assert backend.stats["cache_hits"] == before["cache_hits"] + 1
    # and the reply is the same as without the cache
    backend.release("turn-1")
    fresh = backend.complete(second_prompt, stop=STOP_STRINGS, max_tokens=100)
    assert fresh.text() == text == "Now double it.\n```python\nprint(2*y)\n```\n"
    assert fresh.result.tokens_cached == 0


def test_concurrent_turns_get_their_own_answers_and_interleave(backend):
    questions = list(TRAJECTORIES) + ["Tell me a story.", "Write a long poem about primes."]
    expected = {}
    for q in questions:   # sequential reference: what each prompt gets on its own
        expected[q] = backend.complete(build_prompt(q), stop=STOP_STRINGS, max_tokens=60).text()
    got: dict[str, str] = {}
    spans: dict[str, tuple[float, float]] = {}
    barrier = threading.Barrier(len(questions))

    def ask(q):
        barrier.wait()
        stream = backend.complete(build_prompt(q), stop=STOP_STRINGS, max_tokens=60, cache_key=f"c-{q}")
        parts, first = [], None
        for piece in stream:
            first = first or time.monotonic()
            parts.append(piece)
        spans[q] = (first, time.monotonic())
        got[q] = "".join(parts)
        backend.release(f"c-{q}")

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert got == expected
    # every turn started streaming before the first one finished: one request does not wait for another
    long_ones = [spans[q] for q in questions[-2:]]
    assert max(s for s, _ in long_ones) < min(e for _, e in long_ones)


def test_limits_cancel_and_context(backend, tiny_model_dir):
    stream = backend.complete(build_prompt("Tell me a story."), stop=STOP_STRINGS, max_tokens=4)
    stream.text()
    assert stream.result.finish == "length" and stream.result.tokens_out == 4
    cancel = threading.Event()
    stream = backend.complete(build_prompt("Tell me a story."), stop=STOP_STRINGS, max_tokens=500, cancel=cancel)
    next(stream)
    cancel.set()
    list(stream)
    assert stream.result.finish == "cancelled" and stream.result.tokens_out < 500
    from tutor.solver.backends.transformers import TransformersBackend
    small = TransformersBackend(str(tiny_model_dir), context_tokens=20)
    try:
        with pytest.raises(ContextFull):
            small.complete(build_prompt("What is six times seven?"), stop=STOP_STRINGS, max_tokens=10).text()
        events = list(run_turn(small, None, build_prompt("What is six times seven?"), load_settings().solver))
        assert [e.code for e in events if isinstance(e, ErrorEvent)] == ["context_full"]
    finally:
        small.close()


def test_selected_by_settings_and_missing_models_are_clear(tiny_model_dir, tmp_path):
    b = get_backend("transformers", load_settings(model=str(tiny_model_dir), device="cpu").solver)
    try:
        assert b.device == "cpu" and b.dtype == "float32"
        assert split_rounds(b.complete(build_prompt("What is 2 to the power 10?"), stop=STOP_STRINGS,
                                       max_tokens=40).text())[0].startswith(" We compute the power.")
    finally:
        b.close()
    with pytest.raises(BackendError, match="cannot load model"):
        get_backend("transformers", load_settings(model=str(tmp_path / "no-model")).solver)
    with pytest.raises(BackendError, match="cannot load model 'nobody/no-such-model'"):
        get_backend("transformers:nobody/no-such-model", load_settings().solver)
