"""Sign-in backoff per user name and per client, instead of an account lock.

An account lock lets anyone lock out the admin by guessing wrong five times, and a lock that only known
names get tells a guesser which names exist. Here every name, known or not, and every client address
keeps a count of recent failures; past a free allowance each further try must wait, the wait doubling up
to a ceiling. A browser that once signed in as a name carries a signed "device" cookie for it and is
held back only by its own failures, so a stranger hammering the admin's name never keeps the admin out.

Kept in memory per process: with several replicas a guesser gets each replica's allowance, which only
multiplies a small number.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

# Failures older than this are forgotten, so a mistyped password last week costs nothing today.
_FORGET_AFTER_S = 900.0
_FIRST_WAIT_S = 2.0
_MAX_KEYS = 100_000  # bounded memory under a flood of made-up names


@dataclass
class _Count:
    failures: int = 0
    last_at: float = 0.0


class LoginThrottle:
    def __init__(self, *, name_failures: int, client_failures: int, max_wait_s: float):
        """`name_failures` / `client_failures`: failures allowed before waits begin (0 = no backoff on
        that key); `max_wait_s`: the longest wait between two tries."""
        self.name_failures = name_failures
        self.client_failures = client_failures
        self.max_wait_s = max_wait_s
        self._counts: dict[tuple[str, str], _Count] = {}
        self._lock = threading.Lock()

    def _keys(self, client: str, name: str, device: str | None) -> list[tuple[tuple[str, str], int]]:
        who = ("device", device) if device else ("name", name.strip().lower())
        return [(("client", client), self.client_failures), (who, self.name_failures)]

    def wait_s(self, client: str, name: str, device: str | None = None) -> float:
        """Seconds before this client may try this name again (0: now). `device`: the nonce of a
        device cookie that signed in as this name before, if the browser sent one."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key, free in self._keys(client, name, device):
                count = self._counts.get(key)
                if count is None or free <= 0 or count.failures < free:
                    continue
                if now - count.last_at > _FORGET_AFTER_S:
                    continue
                backoff = min(_FIRST_WAIT_S * 2 ** (count.failures - free), self.max_wait_s)
                wait = max(wait, count.last_at + backoff - now)
        return max(0.0, wait)

    def failed(self, client: str, name: str, device: str | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) >= _MAX_KEYS:
                self._forget(now)
            for key, _free in self._keys(client, name, device):
                count = self._counts.setdefault(key, _Count())
                if now - count.last_at > _FORGET_AFTER_S:
                    count.failures = 0
                count.failures += 1
                count.last_at = now

    def succeeded(self, name: str, device: str | None = None) -> None:
        """A good sign-in clears the count it was held to: the device's, or else the name's. Never the
        client's (a guesser with an account of their own would reset their address's count by signing
        in between guesses), nor the name's from a remembered browser (the owner signing in must not hand
        a stranger guessing their name a fresh allowance)."""
        with self._lock:
            self._counts.pop(("device", device) if device else ("name", name.strip().lower()), None)

    def _forget(self, now: float) -> None:
        stale = [k for k, c in self._counts.items() if now - c.last_at > _FORGET_AFTER_S]
        for key in stale:
            del self._counts[key]
        if len(self._counts) >= _MAX_KEYS:  # all recent: drop the oldest half rather than grow
            for key, _ in sorted(self._counts.items(), key=lambda kv: kv[1].last_at)[: _MAX_KEYS // 2]:
                del self._counts[key]


def wait_text(seconds: float) -> str:
    seconds = math.ceil(seconds)
    return f"{seconds} second{'s' if seconds != 1 else ''}" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
