"""Continuous batching in the transformers backend, on the tiny model: requests share forward passes,
a cancel frees a slot at once, KV is reused within a turn and across turns with the same preamble,
and batched text equals what each prompt gets alone."""

from __future__ import annotations

import threading

import pytest

from tutor.solver.backends.batcher import MIN_SHARED_PREFIX, Batcher, Request
from tutor.solver.prompt import STOP_STRINGS, build_prompt, feed_back

pytestmark = pytest.mark.slow

STORY, POEM = build_prompt("Tell me a story."), build_prompt("Write a long poem about primes.")


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    from tutor.solver.backends.transformers import TransformersBackend
    b = TransformersBackend(str(tiny_model_dir), max_batch=4)
    yield b
    b.close()


def batcher_for(backend, slots: int) -> Batcher:
    """A batcher on the backend's model, stepped by the test itself: the order of events is exact."""
    import torch
    return Batcher(torch, backend.model, backend.tokenizer, device="cpu", dtype=torch.float32, slots=slots,
                   max_len=backend.context_tokens, eos_ids=backend.eos_ids)


def drain(req: Request) -> tuple[str, object]:
    parts = []
    while True:
        item = req.out.get_nowait()
        if isinstance(item, str):
            parts.append(item)
        else:
            return "".join(parts), item


def run_until_done(batcher: Batcher, limit: int = 500) -> int:
    steps = 0
    while batcher.busy:
        batcher.step()
        steps += 1
        assert steps < limit
    return steps


def test_two_sessions_decode_in_shared_forward_passes(backend):
    alone = {p: backend.complete(p, stop=STOP_STRINGS, max_tokens=40).text() for p in (STORY, POEM)}
    batcher = batcher_for(backend, slots=4)
    a, b = Request(STORY, STOP_STRINGS, 40, None, None), Request(POEM, STOP_STRINGS, 40, None, None)
    batcher.submit(a)
    batcher.submit(b)
    run_until_done(batcher)
    (text_a, gen_a), (text_b, gen_b) = drain(a), drain(b)
    assert (text_a, text_b) == (alone[STORY], alone[POEM])     # batching changes nothing in the text
    stats = batcher.stats
    both = min(gen_a.tokens_out, gen_b.tokens_out)
    # every token of the shorter reply came from a forward pass that also advanced the other one
    assert stats["batch_sizes"][2] >= both - 1 > 10
    assert stats["forward_calls"] == 2 + stats["decode_steps"]          # two prefills, then shared steps
    assert stats["decode_steps"] < stats["decode_tokens"] >= gen_a.tokens_out + gen_b.tokens_out - 2


def test_many_concurrent_streams_through_the_worker(backend):
    prompts = [STORY, POEM, build_prompt("What is six times seven?")] * 2
    alone = {p: backend.complete(p, stop=STOP_STRINGS, max_tokens=30).text() for p in set(prompts)}
    streams = [backend.complete(p, stop=STOP_STRINGS, max_tokens=30) for p in prompts]
    before = backend.stats["batch_sizes"].copy()
    texts = [s.text() for s in streams]
    assert texts == [alone[p] for p in prompts]
    sizes = backend.stats["batch_sizes"] - before
    assert max(sizes) >= 3          # most of the six ran together (the queue hands them over between steps)


def test_cancel_frees_the_slot_at_once(backend):
    batcher = batcher_for(backend, slots=1)
    stop_a = threading.Event()
    a = Request(STORY, STOP_STRINGS, 200, stop_a, None)
    b = Request(POEM, STOP_STRINGS, 10, None, None)
    batcher.submit(a)
    batcher.submit(b)
    for _ in range(3):
        batcher.step()
    assert batcher.running == [a] and list(batcher.waiting) == [b]
    stop_a.set()
    batcher.step()                  # the very next step ends `a` and starts `b` in its slot
    assert batcher.running == [b] and not batcher.waiting
    text_a, gen_a = drain(a)
    assert gen_a.finish == "cancelled" and 0 < gen_a.tokens_out < 200
    run_until_done(batcher)
    assert drain(b)[1].finish in ("length", "stop", "eos")


def test_a_closed_stream_frees_its_slot_for_the_next(tiny_model_dir):
    from tutor.solver.backends.transformers import TransformersBackend
    one = TransformersBackend(str(tiny_model_dir), max_batch=1)
    try:
        first = one.complete(STORY, stop=STOP_STRINGS, max_tokens=500)
        next(first)
        second = one.complete(POEM, stop=STOP_STRINGS, max_tokens=8)
        first.close()                  # the student left: the one slot goes to the waiting request
        second.text()
        assert second.result.finish in ("length", "stop", "eos") and second.result.tokens_out <= 8
        assert one.slots_in_use() == 0
    finally:
        one.close()


def test_slots_move_without_mixing_up_their_caches(backend):
    """When a row in the middle finishes, the last row moves into its slot; its text is unchanged."""
    short = build_prompt("What is six times seven?")
    alone = {p: backend.complete(p, stop=STOP_STRINGS, max_tokens=40).text() for p in (short, STORY, POEM)}
    batcher = batcher_for(backend, slots=3)
    reqs = [Request(p, STOP_STRINGS, 40, None, None) for p in (STORY, short, POEM)]
    for r in reqs:
        batcher.submit(r)
    run_until_done(batcher)
    assert [drain(r)[0] for r in reqs] == [alone[STORY], alone[short], alone[POEM]]


def test_prefix_of_another_turn_is_reused_and_rounds_still_reuse_their_own(backend):
    batcher = batcher_for(backend, slots=2)
    preamble = build_prompt("Set y to 5, then double it.")
    first = Request(preamble, STOP_STRINGS, 30, None, "turn-a")
    batcher.submit(first)
    run_until_done(batcher)
    reply, _ = drain(first)
    # a different turn (a hidden key call) whose prompt starts with the same preamble
    other = Request(preamble + feed_back(reply, "7"), STOP_STRINGS, 20, None, "turn-b")
    batcher.submit(other)
    run_until_done(batcher)
    _, gen = drain(other)
    assert gen.tokens_cached >= MIN_SHARED_PREFIX and batcher.stats["prefix_hits"] == 1
    assert "turn-a" in batcher.parked                       # copied from, not taken away
    second_round = Request(preamble + feed_back(reply, "5"), STOP_STRINGS, 20, None, "turn-a")
    before = batcher.stats["prefill_tokens"]
    batcher.submit(second_round)
    run_until_done(batcher)
    _, gen = drain(second_round)
    assert batcher.stats["cache_hits"] == 1 and batcher.stats["prefill_tokens"] - before == gen.tokens_in - gen.tokens_cached < 12
    batcher.release("turn-a")
    batcher.release("turn-b")
    assert not batcher.parked


def test_the_web_apps_model_slots_widen_to_the_batch_a_loaded_backend_takes(backend):
    """The web app makes its model slots before the in-process model loads (lazily, at the first
    question); once it has, as many calls run at once as the backend batches, not the fallback limit."""
    from tutor.solver.backends.slots import ModelSlots, SlottedBackend
    slots = ModelSlots(1)
    assert backend.concurrency == 4
    wrapped = SlottedBackend(backend, slots)
    assert slots.limit == 4
    held = [wrapped.complete(STORY, stop=STOP_STRINGS, max_tokens=3) for _ in range(4)]  # none waits
    for stream in held:
        "".join(stream)
    assert slots.stats() == {"limit": 4, "busy": 0, "waiting": 0}
