"""Per-user rate limits on expensive actions (asks, hints): a sliding window kept in memory.

Per process on purpose: with several app replicas behind sticky sessions a user stays on one.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from tutor.errors import RateLimited


class RateLimiter:
    def __init__(self, limits: dict[str, int], window_s: float = 60.0):
        """`limits` maps an action name to the most actions per user per window (0 = unlimited)."""
        self._limits = dict(limits)
        self._window = window_s
        self._hits: dict[tuple[str, int], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, action: str, user_id: int) -> None:
        """Record one action or raise RateLimited (and record nothing)."""
        limit = self._limits.get(action, 0)
        if limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            hits = self._hits[(action, user_id)]
            while hits and now - hits[0] >= self._window:
                hits.popleft()
            if len(hits) >= limit:
                retry = self._window - (now - hits[0])
                raise RateLimited(f"at most {limit} {action}s per {self._window:g} s; retry in {retry:.0f} s")
            hits.append(now)
