"""The warm pool: pre-started kernels handed out one per session key, never reused for another key;
idle and lifetime culling, a cap on live kernels, replacement after a kill, and cool-down of
sessions whose kernels keep getting killed.

Kernel starts stay off the request path: the supply (demand-sized warm pool, bounded background
refill, the line for sessions that find none warm) is `sandbox.refill`.
"""

from __future__ import annotations

import collections
import math
import os
import re
import shutil
import stat
import threading
import time
from pathlib import Path

import zmq

from sandbox.config import SandboxConfig
from sandbox.errors import SandboxBusy, SandboxError, SandboxUnsafe
from sandbox.jail import Jail
from sandbox.kernel import Kernel
from sandbox.refill import WaitCallback, WarmRefill
from sandbox.result import CellError, CellResult
from sandbox import selfcheck


_KERNEL_ENTRY = re.compile(r"[0-9a-f]{12}(\.log)?")


def _bad_input(message: str) -> CellResult:
    return CellResult(error=CellError("InvalidInput", message, ""))


class KernelSession:
    """One key's kernel. `run` is blocking and thread-safe; cells of one session run one at a time."""

    def __init__(self, pool: "KernelPool", key: str, kernel: Kernel) -> None:
        self.key = key
        self._pool = pool
        self._kernel: Kernel | None = kernel
        self._lock = threading.Lock()
        self._state_lost = False    # the kernel went away between cells; tell the next result
        self.released = False
        self.created_at = time.monotonic()

    @property
    def kernel_id(self) -> str | None:
        k = self._kernel
        return k.id if k else None

    def run(self, code: str | bytes, timeout: float | None = None, cancel: threading.Event | None = None) -> CellResult:
        """Run one cell; the code's own errors come back in the result, never raised. Raises
        SandboxBusy (cool-down or no kernel free) and SandboxError (released session, broken sandbox).
        A set `cancel` interrupts the running cell (the result says `Stopped`)."""
        c = self._pool.config
        if isinstance(code, (bytes, bytearray)):
            try:
                code = bytes(code).decode("utf-8")
            except UnicodeDecodeError as exc:
                return _bad_input(f"code is not valid UTF-8 ({exc.reason} at byte {exc.start})")
        if not isinstance(code, str):
            return _bad_input(f"code must be text, not {type(code).__name__}")
        try:
            size = len(code.encode("utf-8"))
        except UnicodeEncodeError:
            return _bad_input("code is not valid UTF-8 (contains unpaired surrogates)")
        if not code.strip():
            return _bad_input("empty cell: there is no code to run")
        if size > c.max_code_bytes:
            return _bad_input(f"cell is {size} bytes; the limit is {c.max_code_bytes} bytes")
        if "\x00" in code:
            return _bad_input("code contains a NUL character")
        if timeout is None:
            timeout = c.cell_timeout_s
        if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
            return _bad_input(f"timeout must be a positive number of seconds, not {timeout!r}")
        with self._lock:
            if self.released:
                raise SandboxError(f"session {self.key!r} was released")
            self._pool._check_cooldown(self.key)
            if self._kernel is not None and not self._kernel.alive():
                self._pool._kill(self._kernel, self.key, "died between cells", count=True)
                self._kernel = None
                self._state_lost = True
            if self._kernel is None:
                self._kernel = self._pool._fresh_kernel()   # SandboxBusy keeps _state_lost for the next try
                self._pool._placed()
            restarted, self._state_lost = self._state_lost, False
            kernel = self._kernel
            with self._pool._cells:   # kernel CPU: its own limit, separate from the model's
                result, needs_kill = kernel.execute(code, float(timeout), cancel)
            if needs_kill:
                reason = ("timeout" if result.timed_out and not kernel.lost else
                          kernel.lost or (result.error.message if result.error else "lost"))
                self._pool._kill(kernel, self.key, reason, count=True)
                self._kernel = None
            if restarted and not result.restarted:
                result = CellResult(**{**result.__dict__, "restarted": True})
            return result

    def _cull(self, reason: str) -> bool:
        """Kill the kernel if the session is not running a cell; its next cell gets a fresh one."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._kernel is not None:
                self._pool._kill(self._kernel, self.key, reason, count=False)
                self._kernel = None
                self._state_lost = True
            return True
        finally:
            self._lock.release()


class KernelPool(WarmRefill):
    def __init__(self, config: SandboxConfig | None = None, run_dir: Path | str | None = None) -> None:
        self.config = config or SandboxConfig()
        if run_dir is None:
            raise SandboxError("KernelPool needs a run_dir for per-kernel directories")
        self.run_dir = Path(run_dir)
        self.jail: Jail | None = None
        self.ctx: zmq.Context | None = None
        self.self_check: dict = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._warm: collections.deque[Kernel] = collections.deque()
        self._starting = 0
        self._sessions: dict[str, KernelSession] = {}
        self._kills: dict[str, collections.deque[float]] = {}
        self._cooldown_until: dict[str, float] = {}
        self._recent_kills: collections.deque[dict] = collections.deque(maxlen=50)
        self._start_failures: collections.deque[str] = collections.deque(maxlen=10)
        self._leftover_cgroups: list = []
        self._closed = False
        self._started = False
        self._failure: SandboxUnsafe | None = None   # why the last start() refused
        self._thread: threading.Thread | None = None
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._demand: collections.deque[float] = collections.deque()   # when sessions took a kernel (last minute)
        self._next_start = 0.0          # the refill's rate bound: no background start before this
        self._backoff_until = 0.0       # after a failed start
        self._failed_starts = 0
        self._handed = 0    # kernels given out but not yet the session's: still live, for the cap
        self._refills: list[threading.Thread] = []
        cells = self.config.max_running_cells or 2 * (os.cpu_count() or 1)
        self._cells = threading.BoundedSemaphore(cells)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> "KernelPool":
        """Probe the layers, run the self-check in a throw-away kernel, start filling the pool."""
        if self._started:
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o711)
        self._remove_stale_files()
        self.ctx = zmq.Context()
        self.jail = Jail(self.config)
        try:
            missing = [n for n in self.jail.missing() if n not in self.config.allow_missing
                       or n in selfcheck.MANDATORY]
            if missing:
                raise SandboxUnsafe("isolation layer(s) missing: " + "; ".join(
                    f"{n}: {self.jail.layers[n].detail}" for n in missing)
                    + ". Fix them, or allow running without them via MATHTUTOR_SANDBOX_ALLOW_MISSING "
                      "(not possible for bwrap/namespaces).")
            try:
                self.self_check = selfcheck.run(self)
            except SandboxError as exc:   # not even the probe kernel starts: no sandbox at all
                raise SandboxUnsafe(f"no kernel could start, so nothing can run: {exc}") from exc
            if not self.self_check["ok"]:
                raise SandboxUnsafe("self-check failed: " + "; ".join(
                    f"{name}: {c['detail']}" for name, c in self.self_check["checks"].items() if not c["ok"]))
        except BaseException as exc:
            self._failure = exc if isinstance(exc, SandboxUnsafe) else None
            self._shutdown()
            raise
        self._failure = None
        self._started = True
        self._thread = threading.Thread(target=self._maintain, name="sandbox-pool", daemon=True)
        self._thread.start()
        return self

    def _remove_stale_files(self) -> None:
        """Kernel directories and logs left by an app that was killed. Only entries older than any
        live kernel can be (kernels are culled at max lifetime) go, so pools sharing run_dir are safe."""
        cutoff = time.time() - self.config.max_lifetime_s - 3600
        for entry in self.run_dir.iterdir():
            if not _KERNEL_ENTRY.fullmatch(entry.name):
                continue
            try:
                st = entry.lstat()
                if st.st_mtime >= cutoff:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(entry, ignore_errors=True)   # never follows symlinks
                else:
                    entry.unlink()
            except OSError:
                pass

    def __enter__(self) -> "KernelPool":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=60)
        for t in list(self._refills):   # a start in flight still uses the context: let it end first
            t.join(timeout=self.config.start_timeout_s + 5)
        self._shutdown()

    def _shutdown(self) -> None:
        with self._lock:
            warm = list(self._warm)
            self._warm.clear()
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for k in warm:
            k.kill()
        for s in sessions:
            # Let a running cell finish (its deadline bounds the wait) before closing its sockets.
            locked = s._lock.acquire(timeout=self.config.cell_timeout_s + self.config.interrupt_grace_s + 5)
            try:
                s.released = True
                if s._kernel is not None:
                    s._kernel.kill()
                    s._kernel = None
            finally:
                if locked:
                    s._lock.release()
        if self.jail is not None:
            self.jail.close()
        if self.ctx is not None:
            self.ctx.destroy(linger=0)
            self.ctx = None

    # --- sessions ---------------------------------------------------------------------------
    def acquire(self, key: str, on_wait: WaitCallback | None = None) -> KernelSession:
        """The key's session (its kernel made if new). With no kernel warm the caller waits in line;
        `on_wait` hears its place whenever it changes."""
        if not isinstance(key, str) or not key:
            raise SandboxError("session key must be a non-empty string")
        with self._lock:
            self._require_open()
            self._check_cooldown(key)
            session = self._sessions.get(key)
            if session is not None:
                return session
        kernel = self._fresh_kernel(on_wait)
        with self._lock:
            self._handed -= 1   # counted from here on as the session's, or killed below
            existing = self._sessions.get(key)
            if existing is None and not self._closed:
                session = self._sessions[key] = KernelSession(self, key, kernel)
                return session
        kernel.kill()   # lost a race with another acquire of the same key (or the pool closed)
        if existing is None:
            raise SandboxError("the sandbox pool is closed")
        return existing

    def release(self, key: str) -> None:
        with self._lock:
            session = self._sessions.pop(key, None)
            if session is None:
                return
            session.released = True
            self._wake.notify_all()
        with session._lock:
            if session._kernel is not None:
                session._kernel.kill()
                session._kernel = None

    def health(self) -> dict:
        jail = self.jail
        with self._lock:
            in_use = sum(1 for s in self._sessions.values() if s._kernel is not None)
            now = time.monotonic()
            ok = self._started and not self._closed and bool(self.self_check.get("ok"))
            target, per_min = self._warm_target(now)
            return {
                "ok": ok,
                # "ok", "unsafe" (no usable sandbox: SandboxUnsafe, see "error"), "closed" or "not_started"
                "state": "ok" if ok else "unsafe" if self._failure else "closed" if self._closed else "not_started",
                "error": str(self._failure) if self._failure else None,
                "layers": {n: l.to_dict() for n, l in jail.layers.items()} if jail else {},
                "allowed_missing": list(self.config.allow_missing),
                "self_check": self.self_check,
                "kernels": {"warm": len(self._warm), "in_use": in_use, "starting": self._starting,
                            "live": len(self._warm) + in_use + self._starting, "max": self.config.max_kernels,
                            "sessions": len(self._sessions), "waiting": len(self._waiters),
                            "warm_target": target, "sessions_per_min": per_min},
                "cooling_down": sorted(k for k, t in self._cooldown_until.items() if t > now),
                "recent_kills": list(self._recent_kills)[-10:],
                "start_failures": list(self._start_failures),
            }

    # --- internals used by sessions -----------------------------------------------------------
    def _require_open(self) -> None:
        if self._failure is not None and not self._closed:
            raise SandboxUnsafe(str(self._failure))
        if self._closed or not self._started:
            raise SandboxError("the sandbox pool is not running (start() it first)" if not self._closed
                               else "the sandbox pool is closed")

    def _check_cooldown(self, key: str) -> None:
        until = self._cooldown_until.get(key, 0.0)
        left = until - time.monotonic()
        if left > 0:
            raise SandboxBusy(f"this session's code was stopped repeatedly; it can run again in {left:.0f} s")

    def _fresh_kernel(self, on_wait: WaitCallback | None = None) -> Kernel:
        """A warm kernel if one is ready and nobody is ahead in line; else wait in line for the refill.
        SandboxBusy when every kernel is in use and none is coming, or after `kernel_wait_s` in line."""
        c = self.config
        with self._lock:
            self._require_open()
            now = time.monotonic()
            self._demand.append(now)
            while self._warm and not self._waiters:
                k = self._warm.popleft()
                self._wake.notify_all()
                if k.alive():
                    self._handed += 1
                    return k
                threading.Thread(target=k.kill, daemon=True).start()
            if self._live() >= c.max_kernels and not self._starting:
                raise SandboxBusy(f"all {c.max_kernels} sandbox kernels are in use; try again shortly")
            kernel, told = self._wait_in_line(on_wait)
        if told:
            on_wait(0, 0.0)   # the wait is over
        return kernel

    def _new_kernel(self) -> Kernel:
        kernel = Kernel(self.jail, self.config, self.run_dir, self.ctx)
        try:
            kernel.start()
        except SandboxError as exc:
            self._start_failures.append(str(exc)[:500])
            raise
        return kernel

    def _placed(self) -> None:
        with self._lock:
            self._handed -= 1

    def _live(self) -> int:
        return len(self._warm) + self._starting + self._handed + sum(1 for s in self._sessions.values() if s._kernel is not None)

    def _kill(self, kernel: Kernel, key: str, reason: str, *, count: bool) -> None:
        kernel.kill()
        if kernel.cgroup is not None:
            self._leftover_cgroups.append(kernel.cgroup)
        now = time.monotonic()
        with self._lock:
            self._recent_kills.append({"key": key, "kernel": kernel.id, "reason": reason[:200],
                                       "at": time.time()})
            if count:
                kills = self._kills.setdefault(key, collections.deque())
                kills.append(now)
                while kills and kills[0] < now - self.config.kill_window_s:
                    kills.popleft()
                if len(kills) >= self.config.kills_before_cooldown:
                    self._cooldown_until[key] = now + self.config.cooldown_s
                    kills.clear()
            self._wake.notify_all()

    # --- background: fill the warm pool, cull idle and old kernels -------------------------
    def _cull(self) -> None:
        c = self.config
        now = time.monotonic()
        with self._lock:
            old_warm = [k for k in self._warm if now - k.started_at > c.max_lifetime_s or not k.alive()]
            for k in old_warm:
                self._warm.remove(k)
            sessions = list(self._sessions.values())
            self._leftover_cgroups = [g for g in self._leftover_cgroups if not g.remove()]
        for k in old_warm:
            k.kill()
        for s in sessions:
            k = s._kernel
            if k is None:
                continue
            if now - k.last_used > c.idle_timeout_s:
                s._cull("idle")
            elif now - k.started_at > c.max_lifetime_s:
                s._cull("max lifetime")
