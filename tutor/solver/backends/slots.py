"""Model slots: how many model calls run at once, held only while the model writes.

A turn alternates between the model writing and a kernel running its code; holding a slot for the
whole turn left the model idle while cells ran. Here a slot is taken when a call starts and given
back when its stream ends, so a turn running a cell holds none. Callers wait in line (first come,
first served) and hear their place through `tutor.waiting`; a Stop while waiting ends the call as
cancelled without ever reaching the model. A batched backend says how many calls it takes at once
with a `concurrency` attribute; otherwise the configured limit applies.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Generator, Sequence

from tutor import waiting
from tutor.solver.backends.base import Generation, Stream


def concurrency_of(backend: Any, default: int) -> int:
    """The backend's own concurrency (e.g. its batch slots) when it exposes one, else `default`."""
    own = getattr(backend, "concurrency", None)
    return int(own) if isinstance(own, int) and own > 0 else max(1, int(default))


class ModelSlots:
    def __init__(self, limit: int):
        self.limit = max(1, int(limit))
        self._cond = threading.Condition()
        self._busy = 0
        self._line: collections.deque[object] = collections.deque()
        self._hold_s = 1.0      # running average of how long a call holds its slot (for the wait estimate)

    def acquire(self, cancel: threading.Event | None = None) -> bool:
        """Take a slot, waiting in line; False (holding none) when `cancel` is set first."""
        ticket = object()
        told = 0
        with self._cond:
            if self._busy < self.limit and not self._line:
                self._busy += 1
                return True
            self._line.append(ticket)
            try:
                while True:
                    if cancel is not None and cancel.is_set():
                        return False
                    if self._line[0] is ticket and self._busy < self.limit:
                        self._line.popleft()
                        self._busy += 1
                        self._cond.notify_all()
                        return True
                    place = self._line.index(ticket) + 1
                    if place != told:
                        told = place
                        eta = self._hold_s * place / self.limit
                        self._cond.release()   # the listener talks to the page
                        try:
                            waiting.tell("model", place, eta)
                        finally:
                            self._cond.acquire()
                        continue
                    # a Stop sets `cancel` without notifying us: look again soon
                    self._cond.wait(timeout=0.1 if cancel is not None else 1.0)
            finally:
                if ticket in self._line:
                    self._line.remove(ticket)
                    self._cond.notify_all()
                if told:
                    self._cond.release()
                    try:
                        waiting.tell("model", 0)
                    finally:
                        self._cond.acquire()

    def widen(self, limit: int) -> None:
        """Let more calls in at once (a batched backend loaded after the slots were made)."""
        with self._cond:
            if limit > self.limit:
                self.limit = limit
                self._cond.notify_all()

    def release(self, held_s: float) -> None:
        with self._cond:
            self._busy -= 1
            self._hold_s = 0.9 * self._hold_s + 0.1 * held_s
            self._cond.notify_all()

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"limit": self.limit, "busy": self._busy, "waiting": len(self._line)}


class SlottedBackend:
    """A backend whose calls each hold one of `slots` while they stream."""

    def __init__(self, backend: Any, slots: ModelSlots):
        self.inner = backend
        self.slots = slots
        slots.widen(concurrency_of(backend, slots.limit))   # a lazily loaded batched backend takes many
        self.name = getattr(backend, "name", "backend")

    def complete(self, prompt: str, *, stop: Sequence[str], max_tokens: int,
                 cancel: threading.Event | None = None, cache_key: str | None = None) -> Stream:
        if not self.slots.acquire(cancel):
            return Stream(_cancelled())
        t0 = time.monotonic()
        try:
            stream = self.inner.complete(prompt, stop=stop, max_tokens=max_tokens, cancel=cancel, cache_key=cache_key)
        except BaseException:
            self.slots.release(time.monotonic() - t0)
            raise
        once = threading.Lock()

        def give_back() -> None:   # once, whether the stream ended, failed or was closed unread
            if once.acquire(blocking=False):
                stream.close()
                self.slots.release(time.monotonic() - t0)

        return Stream(self._held(stream, give_back), on_close=give_back)

    @staticmethod
    def _held(stream: Stream, give_back: Any) -> Generator[str, None, Generation | None]:
        try:
            for piece in stream:
                yield piece
            return stream.result
        finally:
            give_back()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:   # the backend's own extras (stats, context_tokens, ...)
        return getattr(self.inner, name)


def _cancelled() -> Generator[str, None, Generation]:
    return Generation(text="", finish="cancelled", tokens_in=0, tokens_out=0, seconds=0.0)
    yield ""   # a generator that returns at once
