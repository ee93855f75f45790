"""Tool-integrated reasoning for one turn: generate, run the code in the session's kernel, feed the
output back, repeat (DeepSeekMath's evaluation loop), yielding typed events as it goes.

The loop holds no lock while a kernel runs: the backend is only busy while it generates, so
other sessions' turns keep generating while this one waits on its cell.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Iterator, Protocol

from sandbox.errors import SandboxBusy
from tutor.solver.backends.base import Backend, Generation
from tutor.errors import BackendError
from tutor.settings import SolverSettings
from tutor.events import CodeOutput, CodeStarted, Done, ErrorEvent, Event, FinalAnswer, RoundText, TextDelta
from tutor.solver.prompt import STOP_STRINGS, feed_back, format_observation, last_python_block, wants_code_run

CONTEXT_FULL_MESSAGE = ("This conversation has reached the model's context length ({limit} tokens); "
                        "start a new question to continue.")


class Runner(Protocol):
    # -> sandbox.CellResult; a set `cancel` interrupts the running cell (Stop reaches the kernel)
    def run(self, code: str, timeout: float | None = None, cancel: threading.Event | None = None) -> Any: ...


def _runner_error(exc: BaseException) -> ErrorEvent:
    if isinstance(exc, SandboxBusy):
        return ErrorEvent("sandbox_busy", f"No code kernel is free right now ({exc}); please try again shortly.")
    return ErrorEvent("sandbox_error", f"The code sandbox failed: {exc}")


def _error_dict(error: Any) -> dict[str, str] | None:
    if error is None:
        return None
    return {"type": str(getattr(error, "type", "")), "message": str(getattr(error, "message", "")),
            "traceback": str(getattr(error, "traceback", ""))}


def run_turn(backend: Backend, runner: Runner | None, prompt: str, settings: SolverSettings,
             cancel: threading.Event | None = None, *, cell_timeout: float | None = None) -> Iterator[Event]:
    """Drive one turn from `prompt` (built by tutor.solver.prompt.build_prompt). Always ends with `Done`.

    `runner` runs code (a sandbox KernelSession); None means code is never run (chain-of-thought).
    Bounded by settings.max_rounds, max_tokens_per_round, max_tokens_per_turn and context_tokens.
    `cell_timeout` None leaves each cell to the runner's own limit (its sandbox config).
    """
    start = time.monotonic()
    cache_key = uuid.uuid4().hex
    context = prompt
    turn_text = ""
    tokens_in = tokens_out = tokens_cached = 0
    model_s = code_s = 0.0
    runs = run_errors = run_timeouts = 0
    rounds = 0
    stopped = "eos"
    limit = int(settings.context_tokens)
    try:
        for rnd in range(int(settings.max_rounds)):
            if cancel is not None and cancel.is_set():
                stopped = "cancelled"
                break
            used = backend.count_tokens(context)
            room = limit - used
            left = int(settings.max_tokens_per_turn) - tokens_out
            if room <= 0:
                yield ErrorEvent("context_full", CONTEXT_FULL_MESSAGE.format(limit=limit))
                stopped = "context"
                break
            if left <= 0:
                stopped = "max_tokens"
                break
            budget = min(int(settings.max_tokens_per_round), left, room)
            rounds += 1
            t0 = time.monotonic()
            waited = 0.0
            pieces: list[str] = []
            gen: Generation | None = None
            try:
                stream = backend.complete(context, stop=STOP_STRINGS, max_tokens=budget, cancel=cancel,
                                          cache_key=cache_key)
                try:
                    while True:
                        t = time.monotonic()
                        try:
                            delta = next(stream)
                        except StopIteration:
                            waited += time.monotonic() - t
                            break
                        waited += time.monotonic() - t
                        pieces.append(delta)
                        yield TextDelta(delta, rnd)
                finally:
                    stream.close()
                gen = stream.result
            except BackendError as exc:
                model_s += waited or time.monotonic() - t0
                yield ErrorEvent(exc.code, exc.message)
                stopped = "context" if exc.code == "context_full" else "error"
                break
            except Exception as exc:  # a backend bug must end the turn with a message, not a traceback
                model_s += waited
                yield ErrorEvent("backend_unavailable", f"The model backend failed: {type(exc).__name__}: {exc}")
                stopped = "error"
                break
            model_s += waited
            text = gen.text if gen is not None else "".join(pieces)
            finish = gen.finish if gen is not None else "eos"
            if gen is not None:
                tokens_in += gen.tokens_in
                tokens_out += gen.tokens_out
                tokens_cached += gen.tokens_cached
            yield RoundText(text, rnd, gen.tokens_in if gen else 0, gen.tokens_out if gen else 0, waited)
            turn_text += text
            if finish == "cancelled":
                stopped = "cancelled"
                break
            if finish == "length":
                # which limit ended it: the context window, or a token budget
                stopped = "context" if room < min(int(settings.max_tokens_per_round), left) else "max_tokens"
                if stopped == "context":
                    yield ErrorEvent("context_full", CONTEXT_FULL_MESSAGE.format(limit=limit))
                break
            code = last_python_block(text) if (runner is not None and finish == "stop" and wants_code_run(text)) else None
            if code is None:
                stopped = "eos"
                break
            yield CodeStarted(code, rnd)
            t1 = time.monotonic()
            try:
                result = runner.run(code, timeout=cell_timeout, cancel=cancel)
            except Exception as exc:
                code_s += time.monotonic() - t1
                yield _runner_error(exc)
                stopped = "error"
                break
            code_s += time.monotonic() - t1
            runs += 1
            run_errors += result.error is not None and not result.timed_out
            run_timeouts += bool(result.timed_out)
            observation = format_observation(result.stdout, result.error, result.timed_out)
            yield CodeOutput(code=code, stdout=result.stdout, stderr=result.stderr, error=_error_dict(result.error),
                             timed_out=result.timed_out, restarted=result.restarted, duration_s=result.duration_s,
                             observation=observation, round=rnd)
            if cancel is not None and cancel.is_set():
                stopped = "cancelled"   # the cell was interrupted: its output goes to nobody
                break
            fed = feed_back(text, observation)
            turn_text = turn_text[: len(turn_text) - len(text)] + fed
            context += fed
        else:
            stopped = "max_rounds"
        if stopped in ("eos", "max_rounds", "max_tokens", "context") and turn_text.strip():
            from tutor.solver.answers import extract_answer
            found = extract_answer(turn_text)
            if found is not None:
                yield FinalAnswer(found.answer, found.source)
                if stopped == "eos":
                    stopped = "answer"
    finally:
        release = getattr(backend, "release", None)
        if release is not None:
            release(cache_key)
    yield Done(rounds=rounds, tokens_in=tokens_in, tokens_out=tokens_out, seconds=time.monotonic() - start,
               model_seconds=model_s, code_seconds=code_s, stopped=stopped,
               extra={"code_runs": runs, "code_errors": run_errors, "code_timeouts": run_timeouts,
                      "tokens_cached": tokens_cached, "text": turn_text})
