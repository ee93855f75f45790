"""Each tutoring session's own kernel from the sandbox pool: made lazily, held while the session works,
given back when it is solved, forgotten, or the pool is full; keys namespaced per service. A kernel new
to this service is first brought up to date by `restore` (the session's recorded cells replayed, see
tutoring.handover). Hidden key work gets fresh one-off kernels (`fresh`), never the session's own."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from tutor.errors import SandboxOff, SandboxUnavailable
from tutor.settings import Settings

if TYPE_CHECKING:
    from sandbox import KernelPool

log = logging.getLogger(__name__)


class SessionKernels:
    def __init__(self, settings: Settings, pool: KernelPool | None = None, *,
                 busy: Callable[[int], bool] = lambda sid: False,
                 restore: Callable[[int, Any], None] | None = None):
        self.settings = settings
        self.pool = pool
        self.started = pool is not None and getattr(pool, "_started", True)
        self._busy = busy                    # is that session in the middle of a request?
        self.restore = restore               # (session id, new kernel): replay what the session ran before
        self._lock = threading.Lock()
        # kernel keys are namespaced per service instance: a pool shared with another service (tests,
        # a second app on the same pool) never hands one session's kernel state to another's
        self._ns = f"tutor-{uuid.uuid4().hex[:8]}"
        self._held: dict[int, float] = {}     # session id -> last time its kernel was acquired

    def acquire(self, session_id: int) -> Any:
        """The session's own kernel (same key -> same live kernel), or raise SandboxUnavailable.

        Kernels are held per session until it is solved, the service closes, or the pool's idle timeout
        reaps them; when the pool is full, the least recently used idle kernels are given back first
        (a tutoring session's key work does not need its kernel state afterwards)."""
        with self._lock:
            known = session_id in self._held
        session = self._take(self._key(session_id), session_id)
        if not known and self.restore is not None:
            try:
                self.restore(session_id, session)
            except BaseException:
                self.pool.release(self._key(session_id))   # half-restored: the next acquire starts over
                raise
        with self._lock:
            self._held[session_id] = time.monotonic()
        return session

    @contextmanager
    def fresh(self, session_id: int, purpose: str) -> Iterator[Any]:
        """A kernel nothing else has touched, for the session's hidden work (its key, the key's checks),
        given back when the block ends. Code that ran earlier in the session's own kernel (or an earlier
        attempt at the key) cannot leave anything behind to change what this work prints."""
        key = f"{self._key(session_id)}/{purpose}-{uuid.uuid4().hex[:8]}"
        session = self._take(key, session_id)
        try:
            yield session
        finally:
            try:
                self.pool.release(key)
            except Exception:  # noqa: BLE001 - a kernel that is already gone is fine
                log.debug("release of %s failed", key, exc_info=True)

    def _take(self, key: str, session_id: int) -> Any:
        from sandbox import SandboxBusy, SandboxError, SandboxUnsafe
        try:
            with self._lock:
                if self.pool is None:
                    from sandbox import KernelPool
                    run_dir = Path(self.settings.data_dir) / "kernels"
                    run_dir.mkdir(parents=True, exist_ok=True)
                    self.pool = KernelPool(self.settings.sandbox, run_dir)
                if not self.started:
                    self.pool.start()
                    self.started = True
            from tutor.waiting import kernel_wait
            try:
                return self.pool.acquire(key, on_wait=kernel_wait)   # in line when none is warm, told its place
            except SandboxBusy:
                if not self._free_idle(session_id):
                    raise
                return self.pool.acquire(key, on_wait=kernel_wait)
            except SandboxUnsafe:
                raise
            except SandboxError:
                # a kernel that failed to start (a loaded machine) gets one more try before we give up
                log.warning("session %s: kernel start failed; trying once more", session_id, exc_info=True)
                return self.pool.acquire(key, on_wait=kernel_wait)
        except SandboxUnsafe as exc:
            # not "busy": no code runs on this server until an admin fixes the sandbox
            raise SandboxOff(f"the code sandbox is switched off: {exc}") from exc
        except SandboxError as exc:
            raise SandboxUnavailable(f"no code kernel is available: {exc}") from exc

    def _key(self, session_id: int) -> str:
        return f"{self._ns}/session-{session_id}"

    def _free_idle(self, keep: int) -> int:
        with self._lock:
            idle = sorted((t, sid) for sid, t in self._held.items() if sid != keep and not self._busy(sid))
        for _, sid in idle[: max(1, len(idle) // 2)]:
            self.release(sid)
        return len(idle[: max(1, len(idle) // 2)]) if idle else 0

    def release(self, session_id: int) -> None:
        with self._lock:
            held = self._held.pop(session_id, None)
        if held is None or self.pool is None:
            return
        try:
            self.pool.release(self._key(session_id))
        except Exception:  # noqa: BLE001 - a kernel that is already gone is fine
            log.debug("release of session %s kernel failed", session_id, exc_info=True)

    def health(self) -> Any:
        if self.pool is None or not self.started:
            return "not started"
        try:
            return self.pool.health()
        except Exception as exc:  # noqa: BLE001 - health must answer even when a part is broken
            return {"error": str(exc)}

    def close(self, *, close_pool: bool) -> None:
        with self._lock:
            held = list(self._held)
        for sid in held:
            self.release(sid)
        if close_pool and self.pool is not None and self.started:
            self.pool.close()


class LazyRunner:
    """Acquires the session's kernel only when something (a hint's claim) actually needs to run."""

    def __init__(self, kernels: SessionKernels, session_id: int):
        self._kernels, self._sid = kernels, session_id

    def run(self, code: str, timeout: float | None = None, cancel: threading.Event | None = None) -> Any:
        return self._kernels.acquire(self._sid).run(code, timeout=timeout, cancel=cancel)
