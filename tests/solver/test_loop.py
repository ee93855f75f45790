"""The tool-integrated loop end to end with real sandboxed kernels."""

from __future__ import annotations

import threading
import time

import pytest

from tests.fixtures import data as shared_data
from tutor.solver.backends import ReplayBackend, ScriptedBackend
from tutor.solver.backends.replay import split_rounds
from tutor.events import CodeOutput, CodeStarted, Done, ErrorEvent, FinalAnswer, RoundText, TextDelta
from tutor.solver.answers import extract_answer
from tutor.solver.loop import run_turn
from tutor.solver.prompt import build_prompt
from tutor.settings import load_settings

TORA = str(shared_data.TORA_GSM8K)


def kinds(events, cls):
    return [e for e in events if isinstance(e, cls)]


def test_replayed_tora_trajectories_run_in_a_real_kernel(sandbox_session):
    backend = ReplayBackend.from_file(TORA)
    for t in backend.trajectories[:3]:
        events = list(run_turn(backend, sandbox_session, build_prompt(t.question), load_settings().solver))
        outputs = kinds(events, CodeOutput)
        recorded = t.text.split("```output\n")[1].split("\n```")[0].strip()
        assert [o.observation for o in outputs] == [recorded]      # our kernel printed what ToRA's did
        assert kinds(events, FinalAnswer)[0].answer == extract_answer(t.text).answer   # what ToRA concluded
        done = events[-1]
        assert isinstance(done, Done) and done.stopped == "answer" and done.rounds == 2
        assert done.extra["code_runs"] == 1 and done.code_seconds > 0
        # the streamed deltas add up to each round's text
        for rt in kinds(events, RoundText):
            assert "".join(d.text for d in kinds(events, TextDelta) if d.round == rt.round) == rt.text


def test_kernel_state_persists_across_rounds_and_outputs_are_fed_back(sandbox_session):
    traj = ("First.\n```python\ny = 5\nprint(y)\n```\n```output\nX\n```\nNow.\n```python\nprint(2*y)\n```\n"
            "```output\nX\n```\nSo \\boxed{10}.")
    backend = ScriptedBackend().add_rule("double", traj)
    events = list(run_turn(backend, sandbox_session, build_prompt("Set y to 5 and double it."), load_settings().solver))
    assert [o.observation for o in kinds(events, CodeOutput)] == ["5", "10"]
    assert [c.code for c in kinds(events, CodeStarted)] == ["y = 5\nprint(y)", "print(2*y)"]
    assert backend.prompts[2].endswith("Now.\n```python\nprint(2*y)\n```\n```output\n10\n```\n")
    assert kinds(events, FinalAnswer)[0].answer == "10"


def test_errors_and_timeouts_go_back_to_the_model_as_runtime_errors(sandbox_session):
    backend = ScriptedBackend(["Try.\n```python\nprint(undefined_name)\n```\n```output",
                               "Again.\n```python\nwhile True:\n    pass\n```\n```output",
                               "I give up: \\boxed{1}."])
    events = list(run_turn(backend, sandbox_session, build_prompt("q"), load_settings().solver, cell_timeout=1.0))
    obs = [o.observation for o in kinds(events, CodeOutput)]
    assert obs == ["Runtime errors: NameError: name 'undefined_name' is not defined", "Runtime errors: Timeout Error"]
    assert "```output\nRuntime errors: NameError: name 'undefined_name' is not defined\n```\n" in backend.prompts[1]
    assert events[-1].extra["code_errors"] == 1 and events[-1].extra["code_timeouts"] == 1
    # the kernel survived the interrupted cell
    assert sandbox_session.run("print(6*7)").stdout.strip() == "42"


def test_rounds_are_bounded(sandbox_session):
    backend = ScriptedBackend(default=lambda prompt: "Again.\n```python\nprint(1)\n```\n```output")
    events = list(run_turn(backend, sandbox_session, build_prompt("q"), load_settings(max_rounds=3).solver))
    done = events[-1]
    assert done.stopped == "max_rounds" and done.rounds == 3 and len(kinds(events, CodeOutput)) == 3
    assert kinds(events, FinalAnswer)[0].source == "output"     # the last output block is the answer


def test_context_guard_ends_the_turn_with_a_clear_message():
    prompt = build_prompt("q")
    backend = ScriptedBackend(default="word " * 100)
    room = 10
    settings = load_settings(context_tokens=backend.count_tokens(prompt) + room).solver
    events = list(run_turn(backend, None, prompt, settings))
    errors = kinds(events, ErrorEvent)
    assert [e.code for e in errors] == ["context_full"] and "context length" in errors[0].message
    assert events[-1].stopped == "context" and events[-1].tokens_out == room
    # a prompt that is already too long never reaches the backend
    events = list(run_turn(backend, None, prompt, load_settings(context_tokens=5).solver))
    assert [e.code for e in kinds(events, ErrorEvent)] == ["context_full"] and events[-1].rounds == 0


def test_token_budgets_per_round_and_per_turn(sandbox_session):
    backend = ScriptedBackend(default=lambda prompt: "Again.\n```python\nprint(1)\n```\n```output")
    per_turn = backend.count_tokens("Again.\n```python\nprint(1)\n```\n```output") + 3
    events = list(run_turn(backend, sandbox_session, build_prompt("q"),
                           load_settings(max_tokens_per_turn=per_turn, max_rounds=4).solver))
    assert events[-1].stopped == "max_tokens" and events[-1].tokens_out <= per_turn
    events = list(run_turn(ScriptedBackend(default="word " * 100), None, build_prompt("q"),
                           load_settings(max_tokens_per_round=7).solver))
    assert events[-1].stopped == "max_tokens" and events[-1].tokens_out == 7


def test_cancel_stops_generation():
    backend = ScriptedBackend(default="word " * 200, delay_s=0.005)
    cancel = threading.Event()
    events = []
    for event in run_turn(backend, None, build_prompt("q"), load_settings().solver, cancel):
        events.append(event)
        if isinstance(event, TextDelta):
            cancel.set()
    assert events[-1].stopped == "cancelled" and events[-1].tokens_out < 20
    assert not kinds(events, FinalAnswer)


def test_a_backend_failure_mid_stream_is_an_error_event():
    from tutor.solver.backends import BackendError, Failure
    backend = ScriptedBackend([Failure("Let me th", BackendError("the model server went away"))])
    events = list(run_turn(backend, None, build_prompt("q"), load_settings().solver))
    assert "".join(d.text for d in kinds(events, TextDelta)) == "Let me th"
    assert [(e.code, e.message) for e in kinds(events, ErrorEvent)] == [("backend_unavailable", "the model server went away")]
    assert events[-1].stopped == "error" and not kinds(events, FinalAnswer)


def test_a_running_kernel_does_not_block_other_sessions(sandbox_pool):
    """The slow session's cell runs until it is stopped, so the fast session finishing first shows that it
    was not held up, however slowly a loaded machine runs either of them (no timing involved)."""
    backend = ScriptedBackend()
    backend.add_rule("slow", "Wait.\n```python\nimport time\nwhile True:\n    time.sleep(0.05)\n```\n"
                             "```output\n1\n```\n\\boxed{1}")
    backend.add_rule("fast", "Quick.\n```python\nprint(2)\n```\n```output\n2\n```\n\\boxed{2}")
    keys = {name: f"loop-concurrency-{name}-{time.monotonic_ns()}" for name in ("slow", "fast")}
    sessions = {name: sandbox_pool.acquire(key) for name, key in keys.items()}   # both kernels started first
    cancel = threading.Event()
    running = threading.Event()
    slow_events: list = []

    def slow_turn():
        for event in run_turn(backend, sessions["slow"], build_prompt("a slow one"), load_settings().solver,
                              cancel, cell_timeout=600):
            slow_events.append(event)
            if isinstance(event, CodeStarted):
                running.set()

    slow = threading.Thread(target=slow_turn)
    try:
        slow.start()
        assert running.wait(60)
        fast = list(run_turn(backend, sessions["fast"], build_prompt("a fast one"), load_settings().solver))
        assert [e.answer for e in fast if isinstance(e, FinalAnswer)] == ["2"]
        assert not any(isinstance(e, CodeOutput) for e in slow_events)   # the slow cell was still running
        cancel.set()
        slow.join(60)
        assert not slow.is_alive() and slow_events[-1].stopped == "cancelled"
    finally:
        cancel.set()
        for key in keys.values():
            sandbox_pool.release(key)


@pytest.mark.slow
def test_the_tiny_model_solves_in_a_real_kernel_reusing_its_cache(tiny_model_dir, sandbox_session):
    from tutor.solver.backends.transformers import TransformersBackend
    backend = TransformersBackend(str(tiny_model_dir))
    try:
        events = list(run_turn(backend, sandbox_session, build_prompt("Set y to 5, then double it."), load_settings().solver))
    finally:
        backend.close()
    assert [o.observation for o in kinds(events, CodeOutput)] == ["5", "10"]
    assert kinds(events, FinalAnswer)[0].answer == "10"
    done = events[-1]
    assert done.stopped == "answer" and done.rounds == 3 and done.extra["tokens_cached"] > 0
    assert split_rounds(done.extra["text"])[-1] == "So the result is $\\boxed{10}$."
