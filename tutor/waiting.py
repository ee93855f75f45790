"""Telling a student that an action waits its turn (the server is full), from wherever it waits.

A wait happens deep inside a tutor action (a model slot, a code kernel), far from the page that
should show it. The thread running the action registers where such news goes (`listening`); the
places that wait call `tell`, which reaches that thread's listener or nobody. The news is a
`Waiting` event: shown by the page, never stored (it says nothing about the session itself).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from tutor.events import Waiting

_local = threading.local()


@contextmanager
def listening(listener: Callable[[Waiting], None]) -> Iterator[None]:
    """While the block runs, waits in this thread are told to `listener`."""
    previous = getattr(_local, "listener", None)
    _local.listener = listener
    try:
        yield
    finally:
        _local.listener = previous


def tell(what: str, place: int, eta_s: float = 0.0) -> None:
    """This thread's action is number `place` in line for `what` (0: its wait is over)."""
    listener = getattr(_local, "listener", None)
    if listener is not None:
        listener(Waiting(what=what, place=place, eta_s=round(max(0.0, eta_s), 1)))


def kernel_wait(place: int, eta_s: float) -> None:
    """The sandbox pool's on_wait: a session waits in line for a code kernel."""
    tell("kernel", place, eta_s)
