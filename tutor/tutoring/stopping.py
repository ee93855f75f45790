"""Stop for a session's actions (new problem, message, hint, submission).

Each action gets its own flag the moment it is asked for, before it has its turn or yields anything,
so a Stop reaches an action that is still waiting; a Stop when nothing was asked for stops nothing
later. While the action runs, its flag is what the model backend (generation ends) and the kernel (the
running cell is interrupted) are handed. An action that was stopped ends with `Done(stopped="cancelled")`,
the one event that makes the page say "Stopped", so it says so only when something did stop.
"""

from __future__ import annotations

import threading
import weakref
from typing import Callable, Iterator

from tutor.events import Done, Event


class ActionStopped(BaseException):
    """Raised when the model's reply comes back after a Stop. A BaseException, like GeneratorExit: the
    fallbacks that catch a model's failures (a safe hint, a safe reply) must not show anything for it."""


class Stops:
    """The flags of one session's actions that were asked for and have not ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # weak: an action whose stream is dropped unstarted takes its flag with it
        self._flags: weakref.WeakSet[threading.Event] = weakref.WeakSet()

    def new(self) -> threading.Event:
        flag = threading.Event()
        with self._lock:
            self._flags.add(flag)
        return flag

    def done(self, flag: threading.Event) -> None:
        with self._lock:
            self._flags.discard(flag)

    def stop(self) -> bool:
        """Stop every action asked for and not ended; False when there was none."""
        with self._lock:
            flags = list(self._flags)
        for flag in flags:
            flag.set()
        return bool(flags)


def stopped() -> Done:
    return Done(rounds=0, tokens_in=0, tokens_out=0, seconds=0.0, stopped="cancelled")


def unless_stopped(flag: threading.Event | None, reply: str) -> str:
    """The model's reply, or ActionStopped if the action was stopped while it was written (cut short)."""
    if flag is not None and flag.is_set():
        raise ActionStopped
    return reply


def stoppable(stops: Stops, run: Callable[[threading.Event], Iterator[Event]],
              emit: Callable[[Event], Event]) -> Iterator[Event]:
    """The events of `run(flag)`, with the action's flag made now (at the call). A stopped action ends
    with the `stopped()` event, recorded through `emit`."""
    flag = stops.new()
    return _until_stopped(stops, flag, run(flag), emit)


def _until_stopped(stops: Stops, flag: threading.Event, events: Iterator[Event],
                   emit: Callable[[Event], Event]) -> Iterator[Event]:
    try:
        # stopped while it waited for its turn, it still starts: its first model call or cell ends at once
        # (a new session still says it started, so the page can show it)
        yield from events
    except ActionStopped:
        yield emit(stopped())
    finally:
        stops.done(flag)
        close = getattr(events, "close", None)
        if close is not None:
            close()
