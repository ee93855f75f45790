"""The model servers behind the `openai` backend: requests spread round-robin over the healthy ones; a
server that failed is skipped for a while (doubling, up to a minute) and then tried again, so one dead
GPU box costs one failed connection attempt per cool-down, not one per request."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from tutor.errors import BackendError

FIRST_COOLDOWN_S = 2.0
MAX_COOLDOWN_S = 60.0


def server_urls(value: str | Iterable[str]) -> tuple[str, ...]:
    """Base URLs from a setting: a tuple, or one string with commas (the environment variable's form)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    urls = tuple(u.strip().rstrip("/") for u in items if u and u.strip())
    if not urls:
        raise BackendError("no OpenAI-compatible server URL is configured (MATHTUTOR_OPENAI_BASE_URL)")
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise BackendError(f"the OpenAI-compatible server URL must start with http:// or https://, got {url!r}")
    if len(set(urls)) != len(urls):
        raise BackendError(f"a model server is listed twice in MATHTUTOR_OPENAI_BASE_URL: {', '.join(urls)}")
    return urls


@dataclass
class _Server:
    url: str
    failures: int = 0           # consecutive
    skip_until: float = 0.0     # time.monotonic() before which it is not picked
    last_error: str = ""
    requests: int = 0


class ServerPool:
    def __init__(self, urls: Iterable[str], *, clock: Callable[[], float] = time.monotonic):
        self._servers = [_Server(u) for u in server_urls(tuple(urls))]
        self._clock = clock
        self._next = 0
        self._lock = threading.Lock()

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(s.url for s in self._servers)

    def __len__(self) -> int:
        return len(self._servers)

    def pick(self, exclude: Iterable[str] = ()) -> str:
        """The next healthy server not in `exclude` (round-robin). When every candidate is cooling down,
        the one whose cool-down ends first: a request is never refused without a try."""
        skip = set(exclude)
        now = self._clock()
        with self._lock:
            n = len(self._servers)
            order = [self._servers[(self._next + i) % n] for i in range(n)]
            candidates = [s for s in order if s.url not in skip] or order
            healthy = [s for s in candidates if s.skip_until <= now]
            chosen = healthy[0] if healthy else min(candidates, key=lambda s: s.skip_until)
            self._next = (self._servers.index(chosen) + 1) % n
            chosen.requests += 1
            return chosen.url

    def failed(self, url: str, error: str) -> None:
        """The server could not take a request (no connection, 5xx, silence): skip it for a while."""
        now = self._clock()
        with self._lock:
            for s in self._servers:
                if s.url == url:
                    s.failures += 1
                    s.last_error = error[:300]
                    s.skip_until = now + min(MAX_COOLDOWN_S, FIRST_COOLDOWN_S * 2 ** (s.failures - 1))

    def succeeded(self, url: str) -> None:
        with self._lock:
            for s in self._servers:
                if s.url == url and s.failures:
                    s.failures, s.skip_until, s.last_error = 0, 0.0, ""

    def healthy(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for s in self._servers if s.skip_until <= now)

    def status(self) -> list[dict[str, Any]]:
        """Per server, as this process has seen it (admins' health page, /readyz)."""
        now = self._clock()
        with self._lock:
            return [{"url": s.url, "healthy": s.skip_until <= now, "failures": s.failures, "requests": s.requests,
                     **({"retry_in_s": round(s.skip_until - now, 1)} if s.skip_until > now else {}),
                     **({"last_error": s.last_error} if s.last_error else {})} for s in self._servers]
