"""Running one tutor action (new problem, ask, hint, submit) for a web request, off the event loop.

The service's generators block (model, kernels, store), so each action runs in its own thread that
hands events to the page or API through an asyncio queue. What is scarce is bounded where it is
used, not per action: model calls hold one of the process's model slots only while the model writes
(`tutor.solver.backends.slots`; a batched backend's own concurrency, else `web_max_concurrent_turns`),
and cells hold one of the sandbox's running-cell slots only while they run. When the server is full
an action is kept, in line, and its student sees `Waiting` events (place in line, about how long);
nothing is refused for being one too many. When the consumer goes away (Stop button, closed tab,
dropped connection) the service is told to cancel and the thread closes the generator as soon as its
current step returns, so nothing keeps generating for nobody. Stop reaches an action from the moment
`run` is called: one whose own stop flag the service does not have yet (its thread has not asked the
service, or a new session has not said its id) is marked and stopped as soon as it is handed over.
Service errors become `ErrorEvent`s with stable codes; `app.messages` turns codes into words.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterator

from tutor import waiting
from tutor.errors import RateLimited, TutorError
from tutor.events import ErrorEvent, Event
from tutor.solver.backends.slots import ModelSlots, concurrency_of

log = logging.getLogger(__name__)

# Which per-user rate limit each action counts against.
RATE_ACTION = {"start": "ask", "ask": "ask", "hint": "hint", "submit": "submit"}
_END = object()


@dataclass(eq=False)
class _Asked:
    """One action from the call to `run` until it ends."""
    action: str
    user_id: int
    session_id: int | None      # a new session's once it said it started
    origin: str | None          # the page (Gradio session) that asked, for a Stop before the id is known
    handed: bool = False        # the service holds the action's own stop flag: Stop goes through it
    stop_asked: bool = False    # Stop came before that: stop it the moment it is handed over


class TurnRunner:
    def __init__(self, ctx: Any, max_concurrent: int, max_queue: int = 0):
        self.ctx = ctx
        # max_queue no longer refuses anyone: a full server keeps the action in line and says so
        backend = getattr(ctx.service, "backend_or_none", lambda: None)()
        self.model_slots = ModelSlots(concurrency_of(backend, max_concurrent))
        if hasattr(ctx.service, "model_slots"):
            ctx.service.model_slots = self.model_slots
        self._busy: set[tuple[int, int | None]] = set()
        self._busy_lock = threading.Lock()
        # weak: an action whose stream is dropped unstarted takes its entry with it
        self._asked: weakref.WeakSet[_Asked] = weakref.WeakSet()
        self._asked_lock = threading.Lock()

    def run(self, action: str, user_id: int, session_id: int | None, start: Callable[[], Iterator[Event]],
            timing: dict[str, float] | None = None, origin: str | None = None) -> AsyncIterator[Event]:
        """The events of one action; never raises for tutor errors (they become ErrorEvents). Stop
        reaches it from this call on, before its stream is first read. `timing`, when given, gets
        "queue_s": 0.0 (waits happen inside the action and are streamed as `Waiting` events).
        `origin` names the page that asked, so its Stop reaches a new session not yet announced."""
        asked = _Asked(action, user_id, session_id, origin)
        with self._asked_lock:
            self._asked.add(asked)
        return self._run(asked, start, timing)

    async def _run(self, asked: _Asked, start: Callable[[], Iterator[Event]],
                   timing: dict[str, float] | None) -> AsyncIterator[Event]:
        try:
            async for event in self._limited(asked, start, timing):
                yield event
        finally:
            with self._asked_lock:
                self._asked.discard(asked)

    async def _limited(self, asked: _Asked, start: Callable[[], Iterator[Event]],
                       timing: dict[str, float] | None) -> AsyncIterator[Event]:
        action, user_id, session_id = asked.action, asked.user_id, asked.session_id
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
        if timing is not None:
            timing["queue_s"] = 0.0
        try:
            async for event in self._pump(asked, start):
                yield event
        finally:
            if session_id is not None:
                with self._busy_lock:
                    self._busy.discard(key)

    async def _pump(self, asked: _Asked, start: Callable[[], Iterator[Event]]) -> AsyncIterator[Event]:
        action, user_id, session_id = asked.action, asked.user_id, asked.session_id
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        seen_session: list[int] = []

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            events = None
            try:
                with waiting.listening(put):
                    events = self.ctx.metrics.observe(action, start())
                    if session_id is not None:
                        self._hand_over(asked)   # the service made the action's stop flag when asked
                    for event in events:
                        if event.kind == "session_started":
                            seen_session.append(event.session_id)
                            asked.session_id = event.session_id
                            self._hand_over(asked)
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

    def stop(self, user_id: int, session_id: int | None, origin: str | None = None) -> bool:
        """Stop the session's action, whether it is not yet handed to the service, waits in line (for the
        model or a kernel) or runs; with `origin`, also that page's new sessions (announced or not).
        False when there was none."""
        sessions = {session_id} if session_id is not None else set()
        stopping = False
        with self._asked_lock:
            for asked in list(self._asked):
                mine = asked.user_id == user_id and (
                    (session_id is not None and asked.session_id == session_id)
                    or (origin is not None and asked.origin == origin and asked.action == "start"))
                if not mine:
                    continue
                if asked.handed:
                    sessions.add(asked.session_id)
                else:
                    asked.stop_asked = stopping = True
        for sid in sessions:
            stopping = bool(self.ctx.service.cancel(user_id, sid)) or stopping
        return stopping

    def _hand_over(self, asked: _Asked) -> None:
        """The service now holds the action's stop flag: a Stop that came before is passed on."""
        with self._asked_lock:
            asked.handed = True
            stop_asked = asked.stop_asked
        if stop_asked and asked.session_id is not None:
            self._cancel(asked.user_id, asked.session_id)

    def _cancel(self, user_id: int, session_id: int) -> None:
        try:
            self.ctx.service.cancel(user_id, session_id)
        except Exception:
            log.exception("cancel of session %s failed", session_id)
