"""A small pool of warm worker processes for CAS work that may never finish.

SymPy can spin for minutes in pure-Python loops (`10^{10^{10}}`, a hard `simplify`), and a thread
cannot be killed, while math-verify's own timeouts use `signal.alarm`, which only works on the main
thread. So every grading and step check runs in a worker process with SymPy already imported; a
call that passes its deadline gets its worker killed (SIGKILL) and a fresh one started in the
background. Callers in any thread or process get an answer or `WorkerTimeout` within the deadline
(plus, only when every worker is still starting up, the wait for one to become ready).

Wire format: 4-byte big-endian length + pickle, over the worker's stdin/stdout. Workers only run
functions under `tutor.` named in the request, and exit when their stdin closes.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")
_READY = "ready"
# Functions warmed up at worker start, so the first real call does not pay for SymPy's caches.
_WARMUP = ("tutor.checking.grading_engine:warm_up", "tutor.checking.steps_engine:warm_up")


class WorkerError(Exception):
    """A worker could not do the job: it timed out, died, or none could be started."""


class WorkerTimeout(WorkerError):
    pass


class WorkerUnavailable(WorkerError):
    pass


class RemoteError(WorkerError):
    """The function raised inside the worker; `type_name` is the exception's class name."""

    def __init__(self, type_name: str, message: str):
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message


class _Worker:
    def __init__(self, memory_mb: int):
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["MATHTUTOR_WORKER_MEMORY_MB"] = str(memory_mb)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tutor.checking.workers"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, close_fds=True,
        )
        self.started = time.monotonic()

    def send(self, obj: Any) -> None:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        assert self.proc.stdin is not None
        self.proc.stdin.write(_HEADER.pack(len(data)) + data)
        self.proc.stdin.flush()

    def recv(self, deadline: float) -> Any:
        header = self._read_exact(_HEADER.size, deadline)
        (size,) = _HEADER.unpack(header)
        return pickle.loads(self._read_exact(size, deadline))

    def _read_exact(self, n: int, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks: list[bytes] = []
        while n > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout("deadline passed")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise WorkerTimeout("deadline passed")
            chunk = os.read(fd, n)
            if not chunk:
                raise WorkerUnavailable("the math worker exited")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        # Reap in the background so a caller past its deadline never waits on the kernel.
        threading.Thread(target=self.proc.wait, daemon=True, name="mathworker-reap").start()


class MathWorkerPool:
    """`call("tutor.checking.grading_engine:compare", ref, ans, timeout=2.0)` runs in a warm worker process."""

    def __init__(self, size: int = 2, *, memory_mb: int = 2048, start_timeout: float = 60.0):
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self.start_timeout = start_timeout
        self.pid = os.getpid()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._live = 0  # started or starting, not yet killed
        self._closed = False
        self.kills = 0
        self.last_start_error = ""
        self._start_failures = 0  # in a row; reset by any successful start

    def warm(self, wait: bool = False) -> None:
        """Start the workers now; with `wait`, block until one is ready."""
        self._fill()
        if wait:
            worker = self._checkout(time.monotonic() + self.start_timeout)
            self._idle.put(worker)

    def call(self, func: str, *args: Any, timeout: float) -> Any:
        if not func.startswith("tutor."):
            raise ValueError(f"refusing to run {func!r} in a math worker")
        self._fill()
        worker = self._checkout(time.monotonic() + self.start_timeout)
        deadline = time.monotonic() + timeout
        try:
            worker.send((func, args))
            status, payload = worker.recv(deadline)
        except WorkerError:
            self._discard(worker)
            raise
        except (OSError, EOFError, pickle.PickleError) as exc:
            self._discard(worker)
            raise WorkerUnavailable(f"the math worker failed: {exc}") from None
        except BaseException:
            # interrupted mid-call (KeyboardInterrupt, a cancelled thread): the worker may still be
            # busy with our request, so it cannot go back to the idle queue
            self._discard(worker)
            raise
        self._idle.put(worker)
        if status == "ok":
            return payload
        raise RemoteError(*payload)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                break

    def stats(self) -> dict:
        return {"size": self.size, "live": self._live, "idle": self._idle.qsize(), "kills": self.kills,
                "last_start_error": self.last_start_error}

    # --- internals --------------------------------------------------------------------------
    def _checkout(self, deadline: float) -> _Worker:
        while True:
            if self._start_failures >= self.size and self._idle.empty():
                # every recent start failed (no interpreter, no memory): say so now, not after a minute
                raise WorkerUnavailable(f"math workers cannot start: {self.last_start_error}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerUnavailable(
                    f"no math worker became ready in {self.start_timeout:.0f} s"
                    + (f" ({self.last_start_error})" if self.last_start_error else ""))
            try:
                worker = self._idle.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                self._fill()
                continue
            if worker.alive():
                return worker
            self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._live -= 1
            self.kills += 1
        self._fill()

    def _fill(self) -> None:
        if self._closed:
            raise WorkerUnavailable("the math worker pool is closed")
        with self._lock:
            missing = self.size - self._live
            self._live += max(0, missing)
        for _ in range(missing):
            threading.Thread(target=self._start_one, daemon=True, name="mathworker-start").start()

    def _start_one(self) -> None:
        worker = None
        try:
            worker = _Worker(self.memory_mb)
            msg = worker.recv(time.monotonic() + self.start_timeout)
            if msg != _READY:
                raise WorkerUnavailable(f"unexpected greeting {msg!r}")
        except Exception as exc:  # noqa: BLE001 - any start failure is reported through stats/_checkout
            self.last_start_error = str(exc) or type(exc).__name__
            self._start_failures += 1
            if worker is not None:
                worker.kill()
            with self._lock:
                self._live -= 1
            time.sleep(1.0)  # do not spin if workers cannot start at all
            return
        self._start_failures = 0
        if self._closed:
            worker.kill()
            return
        self._idle.put(worker)


DEFAULT_WORKERS = 2
DEFAULT_MEMORY_MB = 2048

_POOL: MathWorkerPool | None = None
_POOL_LOCK = threading.Lock()
_SIZE = {"workers": DEFAULT_WORKERS, "memory_mb": DEFAULT_MEMORY_MB}


def configure(workers: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
    """Size the process-wide pool (from the grading settings; the app and the CLI call this once at
    start). A pool already running with another size is closed; the next call starts the new one."""
    global _POOL
    with _POOL_LOCK:
        _SIZE.update(workers=int(workers), memory_mb=int(memory_mb))
        if _POOL is not None and _POOL.pid == os.getpid() and (_POOL.size, _POOL.memory_mb) != (
                max(1, int(workers)), int(memory_mb)):
            _POOL.close()
            _POOL = None


def get_pool() -> MathWorkerPool:
    """The process-wide pool, sized by `configure` (else the defaults), started on first use and
    again after a fork."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = MathWorkerPool(_SIZE["workers"], memory_mb=_SIZE["memory_mb"])
        return _POOL


@atexit.register
def _close_default_pool() -> None:
    if _POOL is not None and _POOL.pid == os.getpid():
        _POOL.close()


# --- the worker side ---------------------------------------------------------------------------
def _resolve(func: str):
    module, _, name = func.partition(":")
    return getattr(importlib.import_module(module), name)


def _write(out: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def _read(inp: BinaryIO) -> Any:
    header = inp.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    return pickle.loads(inp.read(size))


def worker_main() -> None:
    import resource

    memory_mb = int(os.environ.get("MATHTUTOR_WORKER_MEMORY_MB", "2048"))
    if memory_mb > 0:  # a runaway big-integer power raises MemoryError instead of swapping the box
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    inp = os.fdopen(os.dup(0), "rb")
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from libraries must not corrupt the protocol
    logging.disable(logging.CRITICAL)
    sys.set_int_max_str_digits(20000)
    for func in _WARMUP:
        try:
            _resolve(func)()
        except Exception:  # noqa: BLE001 - a failed warm-up only costs speed
            pass
    _write(out, _READY)
    while True:
        request = _read(inp)
        if request is None:
            return
        func, args = request
        try:
            if not func.startswith("tutor."):
                raise ValueError(f"refusing {func!r}")
            result = ("ok", _resolve(func)(*args))
        except BaseException as exc:  # noqa: BLE001 - report everything, keep serving
            result = ("error", (type(exc).__name__, str(exc)[:500]))
        try:
            _write(out, result)
        except pickle.PicklingError as exc:
            _write(out, ("error", ("PicklingError", str(exc)[:500])))


if __name__ == "__main__":
    worker_main()
