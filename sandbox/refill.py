"""The warm pool's supply: sized from demand, refilled in the background at a bounded rate, and a line
for sessions that find none warm.

Kernel starts stay off the request path: only the background refill starts kernels for sessions, at
most `refill_per_s` a second and `refill_parallel` at once, so starts cannot crowd out running cells. The
warm pool holds as many kernels as sessions took in the last `warm_horizon_s` at the last minute's rate
(between `warm_kernels` and `max_warm_kernels`). A session that finds none warm waits in line, first come
first served; the refill hands the kernel it started to the first in line, and `on_wait` tells each
waiter its place whenever it changes. Mixed into `KernelPool`, whose lock guards all of this.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Callable

from sandbox.errors import SandboxBusy

if TYPE_CHECKING:
    from sandbox.kernel import Kernel


class _Waiter:
    """A session waiting in line for a kernel; the refill hands it one directly."""

    __slots__ = ("kernel", "since")

    def __init__(self) -> None:
        self.kernel: Kernel | None = None
        self.since = time.monotonic()


# on_wait(place in line (1 = next), seconds until a kernel may be ready at the refill rate)
WaitCallback = Callable[[int, float], None]


class WarmRefill:
    def _wait_in_line(self, on_wait: "WaitCallback | None") -> "tuple[Kernel, bool]":
        """Called holding the lock when no kernel is warm for this caller: wait in line for the refill
        to hand one over. Returns it and whether the caller was told a place (so must hear the end)."""
        c = self.config
        waiter = _Waiter()
        self._waiters.append(waiter)
        self._wake.notify_all()
        told = None
        try:
            while waiter.kernel is None:
                self._require_open()
                left = waiter.since + c.kernel_wait_s - time.monotonic()
                if left <= 0:
                    raise SandboxBusy(f"no sandbox kernel came free within {c.kernel_wait_s:g} s; try again shortly")
                place = self._waiters.index(waiter) + 1
                if on_wait is not None and place != told:
                    told = place
                    eta = max(0.0, self._next_start - time.monotonic()) + (place - 1) / max(c.refill_per_s, 1e-6)
                    self._lock.release()   # the callback may block (it talks to the page)
                    try:
                        on_wait(place, eta)
                    finally:
                        self._lock.acquire()
                    continue
                self._wake.wait(timeout=min(left, 1.0))
            kernel = waiter.kernel   # counted in _handed by the refill that handed it over
        except BaseException:
            if waiter.kernel is not None:   # handed one just as the wait failed: it goes back warm
                self._handed -= 1
                self._warm.appendleft(waiter.kernel)
            raise
        finally:
            if waiter.kernel is None:
                self._waiters.remove(waiter)
                self._wake.notify_all()
        return kernel, told is not None

    def _warm_target(self, now: float) -> tuple[int, int]:
        """(kernels to keep warm, sessions that took a kernel in the last minute)."""
        c = self.config
        while self._demand and self._demand[0] < now - 60.0:
            self._demand.popleft()
        per_min = len(self._demand)
        wanted = math.ceil(per_min * c.warm_horizon_s / 60.0)
        return max(c.warm_kernels, min(wanted, max(c.warm_kernels, c.max_warm_kernels))), per_min

    def _maintain(self) -> None:
        c = self.config
        last_cull = 0.0
        while True:
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                target, _ = self._warm_target(now)
                # those in line first, then the warm pool up to the demand's size
                short = len(self._waiters) + target - len(self._warm) - self._starting
                can = (short > 0 and self._live() < c.max_kernels and self._starting < max(1, c.refill_parallel))
                wait_until = max(self._next_start, self._backoff_until)
                if can and now >= wait_until:
                    self._starting += 1
                    self._next_start = now + 1.0 / max(c.refill_per_s, 1e-6)
                    t = threading.Thread(target=self._refill_one, name="sandbox-refill", daemon=True)
                    self._refills = [r for r in self._refills if r.is_alive()] + [t]
                    t.start()
                    continue
                self._wake.wait(timeout=max(0.01, min(1.0, wait_until - now)) if can else 1.0)
            if time.monotonic() - last_cull >= 1.0:
                last_cull = time.monotonic()
                self._cull()

    def _refill_one(self) -> None:
        """Start one kernel; the first session in line gets it, else it joins the warm pool."""
        kernel = None
        try:
            kernel = self._new_kernel()
        except Exception:   # SandboxError, or the pool closing under it
            with self._lock:   # do not spin on a machine that cannot start kernels
                self._failed_starts += 1
                self._backoff_until = time.monotonic() + min(30.0, 2.0 ** (self._failed_starts - 1))
        with self._lock:
            if kernel is not None:
                self._failed_starts = 0
            self._starting -= 1
            if kernel is not None and not self._closed:
                if self._waiters:
                    self._waiters.popleft().kernel = kernel
                    self._handed += 1
                else:
                    self._warm.append(kernel)
                kernel = None
            self._wake.notify_all()
        if kernel is not None:
            kernel.kill()

