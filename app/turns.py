"""Running one tutor action (new problem, ask, hint, submit) for a web request, off the event loop.

The service's generators block (model, kernels, store), so each action runs in its own thread that
hands events to the page or API through an asyncio queue. The whole process shares one turn
semaphore (`web_max_concurrent_turns`), whichever entry point a student uses. When the consumer goes
away (Stop button, closed tab, dropped connection) the service is told to cancel and the thread
closes the generator as soon as its current step returns, so nothing keeps generating for nobody.
Service errors become `ErrorEvent`s with stable codes; `app.messages` turns codes into words.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, AsyncIterator, Callable, Iterator

from tutor.errors import RateLimited, TutorError
from tutor.events import Done, ErrorEvent, Event

log = logging.getLogger(__name__)

# Which per-user rate limit each action counts against.
RATE_ACTION = {"start": "ask", "ask": "ask", "hint": "hint", "submit": "submit"}
_END = object()


class TurnRunner:
    def __init__(self, ctx: Any, max_concurrent: int, max_queue: int = 0):
        self.ctx = ctx
        self._max = max(1, max_concurrent)
        self._max_queue = max_queue          # 0: no limit on actions waiting for a slot
        self._waiting = 0
        self._slots: asyncio.Semaphore | None = None
        self._busy: set[tuple[int, int | None]] = set()
        self._busy_lock = threading.Lock()
        self._waiting_stops: dict[tuple[int, int], Callable[[], None]] = {}   # actions not yet given a slot

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:  # created inside the running loop
            self._slots = asyncio.Semaphore(self._max)
        return self._slots

    async def run(self, action: str, user_id: int, session_id: int | None,
                  start: Callable[[], Iterator[Event]], timing: dict[str, float] | None = None) -> AsyncIterator[Event]:
        """Yield the events of one action; never raises for tutor errors (they become ErrorEvents).
        `timing`, when given, gets "queue_s": how long the action waited for a turn slot."""
        key = (user_id, session_id)
        try:
            self.ctx.limiter.check(RATE_ACTION.get(action, action), user_id)
        except RateLimited as exc:
            self.ctx.metrics.rate_limited.labels(action=action).inc()
            self.ctx.metrics.error(exc.code)
            yield ErrorEvent(exc.code, exc.message)
            return
        if session_id is not None:
            with self._busy_lock:
                if key in self._busy:
                    self.ctx.metrics.error("busy")
                    yield ErrorEvent("busy", "an answer to this session is still being written")
                    return
                self._busy.add(key)
        try:
            if self._max_queue and self.slots.locked() and self._waiting >= self._max_queue:
                self.ctx.metrics.error("queue_full")
                yield ErrorEvent("queue_full", "too many students are waiting for the tutor")
                return
            self._waiting += 1
            queued = time.monotonic()
            try:
                got_slot = await self._slot_unless_stopped(key if session_id is not None else None)
            finally:
                self._waiting -= 1
            if not got_slot:   # stopped while it waited: it never reaches the tutor
                yield Done(rounds=0, tokens_in=0, tokens_out=0, seconds=0.0, stopped="cancelled")
                return
            waited = time.monotonic() - queued
            self.ctx.metrics.queue_seconds.observe(waited)
            if timing is not None:
                timing["queue_s"] = waited
            try:
                async for event in self._pump(action, user_id, session_id, start):
                    yield event
            finally:
                self.slots.release()
        finally:
            if session_id is not None:
                with self._busy_lock:
                    self._busy.discard(key)

    async def _slot_unless_stopped(self, key: tuple[int, int] | None) -> bool:
        """Wait for a turn slot; False (holding none) when the action was stopped first."""
        if key is None:
            await self.slots.acquire()
            return True
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        self._waiting_stops[key] = lambda: loop.call_soon_threadsafe(stop.set)   # called from other threads
        slot = asyncio.ensure_future(self.slots.acquire())
        stopped = asyncio.ensure_future(stop.wait())
        ok = False
        try:
            await asyncio.wait({slot, stopped}, return_when=asyncio.FIRST_COMPLETED)
            ok = slot.done() and not slot.cancelled() and not stop.is_set()
            return ok
        finally:
            self._waiting_stops.pop(key, None)
            stopped.cancel()
            if not slot.done():
                slot.cancel()
            elif not ok and not slot.cancelled() and slot.exception() is None:
                self.slots.release()   # the slot came, but the action was stopped (or abandoned) first

    async def _pump(self, action: str, user_id: int, session_id: int | None,
                    start: Callable[[], Iterator[Event]]) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        seen_session: list[int] = []

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            events = None
            try:
                events = self.ctx.metrics.observe(action, start())
                for event in events:
                    if event.kind == "session_started":
                        seen_session.append(event.session_id)
                    put(event)
                    if stop.is_set():
                        break
            except TutorError as exc:
                self.ctx.metrics.error(exc.code)
                put(ErrorEvent(exc.code, exc.message))
            except Exception:  # a bug must not hang the page: log it, tell the user, keep serving
                log.exception("tutor action %s failed", action)
                self.ctx.metrics.error("error")
                put(ErrorEvent("error", "internal error"))
            finally:
                if events is not None:
                    events.close()
                put(_END)

        thread = threading.Thread(target=work, name=f"turn-{action}-{user_id}", daemon=True)
        thread.start()
        finished = False
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    finished = True
                    return
                yield item
        finally:
            if not finished:
                stop.set()
                sid = session_id if session_id is not None else (seen_session[0] if seen_session else None)
                if sid is not None:
                    # Not awaited: this runs while the consumer is being cancelled.
                    threading.Thread(target=self._cancel, args=(user_id, sid), daemon=True).start()

    def stop(self, user_id: int, session_id: int) -> bool:
        """Stop the session's action, whether it still waits for a turn slot or the tutor is running it;
        False when there was none."""
        waiting = self._waiting_stops.get((user_id, session_id))
        if waiting is not None:
            waiting()
        return bool(self.ctx.service.cancel(user_id, session_id)) or waiting is not None

    def _cancel(self, user_id: int, session_id: int) -> None:
        try:
            self.ctx.service.cancel(user_id, session_id)
        except Exception:
            log.exception("cancel of session %s failed", session_id)
