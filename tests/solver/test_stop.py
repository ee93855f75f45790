"""Stop reaches what is running: a model backend stops writing, a running cell is interrupted (and its
kernel keeps its variables), and nothing goes on to the model after a stopped cell."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures import data as shared_data
from tests.fixtures.web import free_port
from tutor.events import CodeOutput, CodeStarted, Done, FinalAnswer
from tutor.settings import load_settings
from tutor.solver.backends import ReplayBackend, ScriptedBackend
from tutor.solver.backends.openai import OpenAIBackend
from tutor.solver.loop import run_turn
from tutor.solver.prompt import STOP_STRINGS, build_prompt

LONG = "Let me think about this carefully, one small piece at a time. " * 40 + "\\boxed{7}"


def _stopped_after(stream, pieces: int, cancel: threading.Event) -> list[str]:
    """Read `pieces` deltas, press Stop, read what still comes."""
    got = []
    for delta in stream:
        got.append(delta)
        if len(got) == pieces:
            cancel.set()
    return got


@pytest.mark.parametrize("make", [
    lambda: ScriptedBackend(default=LONG, delay_s=0.01),
    lambda: ReplayBackend.from_file(str(shared_data.TORA_GSM8K), delay_s=0.01),
], ids=["scripted", "replay"])
def test_a_playing_backend_stops_writing_at_the_next_token(make):
    backend = make()
    cancel = threading.Event()
    prompt = build_prompt(backend.trajectories[0].question if isinstance(backend, ReplayBackend) else "q")
    stream = backend.complete(prompt, stop=STOP_STRINGS, max_tokens=2000, cancel=cancel)
    got = _stopped_after(stream, 3, cancel)
    assert stream.result.finish == "cancelled"
    assert len(got) == 3 and stream.result.text == "".join(got)   # nothing more after the Stop
    assert stream.result.tokens_out < 10                             # of hundreds


@pytest.fixture(scope="module")
def stalling_server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bad_server.py")), str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/stall/v1"
    proc.terminate()
    proc.wait(timeout=10)


def test_the_openai_backend_stops_while_the_server_sends_nothing(stalling_server):
    """A server that opened the stream and then went quiet for two minutes (queued behind others): Stop
    ends the stream and closes the connection, instead of waiting for a first token or the read timeout."""
    backend = OpenAIBackend(stalling_server, "m", retries=0, timeout_s=90)
    cancel = threading.Event()
    try:
        stream = backend.complete(build_prompt("q"), stop=STOP_STRINGS, max_tokens=100, cancel=cancel)
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.extend(stream), daemon=True)
        reader.start()
        cancel.set()
        reader.join(30)   # a third of the read timeout: only the Stop can have ended it
        assert not reader.is_alive(), "the stream kept waiting for the server after Stop"
        assert stream.result is not None and stream.result.finish == "cancelled" and got == []
    finally:
        backend.close()


def test_stop_interrupts_the_running_cell_and_the_kernel_keeps_its_variables(sandbox_session):
    assert sandbox_session.run("x = 41").ok
    backend = ScriptedBackend(["Let me wait.\n```python\nimport time\nwhile True:\n    time.sleep(0.05)\n```\n"
                               "```output",
                               "This must never be asked for. \\boxed{1}"])
    cancel = threading.Event()
    events = []
    # only the Stop can end this cell: its time limit is far beyond the test's
    for event in run_turn(backend, sandbox_session, build_prompt("q"), load_settings().solver, cancel,
                          cell_timeout=600):
        events.append(event)
        if isinstance(event, CodeStarted):
            cancel.set()
    output = next(e for e in events if isinstance(e, CodeOutput))
    assert output.error["type"] == "Stopped" and not output.timed_out and not output.restarted
    assert isinstance(events[-1], Done) and events[-1].stopped == "cancelled"
    assert not [e for e in events if isinstance(e, FinalAnswer)]
    assert backend.pending == 1                                  # the model was not asked to go on
    after = sandbox_session.run("print(x + 1)")
    assert after.stdout == "42\n" and not after.restarted        # interrupted, not killed: state kept
