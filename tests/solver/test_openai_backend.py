"""The openai backend against real server processes on localhost: `transformers serve` with the tiny
model, and a deliberately broken server for the failures a real one only shows on a bad day."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.tiny_model import ServerProcess, free_port
from tutor.solver.backends import BackendError, get_backend
from tutor.solver.backends.openai import OpenAIBackend
from tutor.events import Done, ErrorEvent
from tutor.solver.loop import run_turn
from tutor.solver.prompt import STOP_STRINGS, build_prompt
from tutor.settings import load_settings

pytestmark = pytest.mark.slow


def test_streams_the_raw_prompt_and_stops_at_output(tiny_openai_server):
    b = OpenAIBackend(tiny_openai_server.base_url, tiny_openai_server.model_dir)
    prompt = build_prompt("What is six times seven?")
    stream = b.complete(prompt, stop=STOP_STRINGS, max_tokens=100)
    pieces = list(stream)
    gen = stream.result
    assert len(pieces) > 3                               # streamed, not one blob
    assert "".join(pieces) == " Let me compute.\n```python\nprint(6*7)\n```\n"   # stop string removed
    assert gen.finish == "stop" and gen.stop == "```output"
    # the server added BOS itself: its prompt count equals ours for the prompt with exactly one BOS
    assert gen.tokens_in == b.count_tokens(prompt)
    b.close()


def test_selected_by_spec_with_the_server_url(tiny_openai_server):
    settings = load_settings(model=tiny_openai_server.model_dir).solver
    b = get_backend(f"openai:{tiny_openai_server.base_url}", settings)
    prompt = build_prompt("What is 2 to the power 10?") + " We compute the power.\n```python\nx = 2**10\nprint(x)\n```\n```output\n1024\n```\n"
    stream = b.complete(prompt, stop=STOP_STRINGS, max_tokens=50)
    assert stream.text() == "So $2^{10} = \\boxed{1024}$." and stream.result.finish == "eos"
    short = b.complete(build_prompt("What is six times seven?"), stop=STOP_STRINGS, max_tokens=3)
    short.text()
    assert short.result.finish == "length" and short.result.tokens_out == 3


def test_dead_server_is_retried_then_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    b = OpenAIBackend(url, "m", retries=2, backoff_s=0.05)
    t0 = time.monotonic()
    with pytest.raises(BackendError, match=r"127\.0\.0\.1.*cannot connect"):
        b.complete(build_prompt("q"), stop=STOP_STRINGS, max_tokens=5).text()
    assert time.monotonic() - t0 >= 0.05 + 0.1           # two backoffs were waited
    events = list(run_turn(b, None, build_prompt("q"), load_settings().solver))
    assert isinstance(events[-2], ErrorEvent) and events[-2].code == "backend_unavailable"
    assert isinstance(events[-1], Done) and events[-1].stopped == "error"


def test_server_dying_mid_stream_ends_the_turn_with_an_error(tiny_model_dir, tmp_path):
    server = ServerProcess(tiny_model_dir, tmp_path / "serve.log").wait_ready()
    try:
        b = OpenAIBackend(server.base_url, server.model_dir, retries=0)
        settings = load_settings(max_tokens_per_round=3000, max_tokens_per_turn=3000).solver
        events = []
        for event in run_turn(b, None, build_prompt("Write me a very long story about a dragon."), settings):
            events.append(event)
            if len(events) == 2:
                server.proc.kill()                     # a crash, not a graceful shutdown
        errors = [e for e in events if isinstance(e, ErrorEvent)]
        assert errors and errors[0].code == "backend_unavailable" and "mid-reply" in errors[0].message
        assert events[-1].stopped == "error"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bad_server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bad_server.py")), str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("mode, message", [
    ("garbage", "malformed JSON"),
    ("html", "did not stream"),
    ("truncated", "closed the stream before"),
    ("error", "CUDA out of memory"),
])
def test_garbage_from_the_server_ends_the_turn_with_an_error_event(bad_server, mode, message):
    b = OpenAIBackend(f"{bad_server}/{mode}/v1", "m", retries=0)
    events = list(run_turn(b, None, build_prompt("q"), load_settings().solver))
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(errors) == 1 and message in errors[0].message, events
    assert events[-1].stopped == "error"


def test_a_transient_503_is_retried(bad_server):
    b = OpenAIBackend(f"{bad_server}/flaky/v1", "m", retries=1, backoff_s=0.01)
    events = list(run_turn(b, None, build_prompt("q"), load_settings().solver))
    assert [e.answer for e in events if e.kind == "answer"] == ["3"]
    assert events[-1].stopped == "answer"


def test_bad_url_is_refused():
    with pytest.raises(BackendError, match="http://"):
        OpenAIBackend("localhost:8000/v1", "m")
