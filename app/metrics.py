"""Prometheus metrics of one app instance: turns, rounds, tokens, latencies, sandbox kills, errors.

Each app gets its own CollectorRegistry, so several apps in one process (tests) never collide and
`/metrics` shows exactly this instance.
"""

from __future__ import annotations

import time
from typing import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tutor.events import Event

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter("mathtutor_turns", "Tutor actions finished, by action and outcome.",
                             ["action", "outcome"], registry=r)
        self.rounds = Counter("mathtutor_rounds", "Model generations (rounds) run.", registry=r)
        self.tokens = Counter("mathtutor_tokens", "Model tokens, by direction (in = prompt, out = generated).",
                              ["direction"], registry=r)
        self.turn_seconds = Histogram("mathtutor_turn_seconds", "Wall time of one tutor action, by action.",
                                      ["action"], buckets=_LATENCY_BUCKETS, registry=r)
        self.first_event_seconds = Histogram("mathtutor_first_event_seconds",
                                             "Time until the first visible event of an action.",
                                             ["action"], buckets=_LATENCY_BUCKETS, registry=r)
        self.model_seconds = Histogram("mathtutor_model_seconds", "Model time per turn.",
                                       buckets=_LATENCY_BUCKETS, registry=r)
        self.code_seconds = Histogram("mathtutor_code_seconds", "Sandbox time per code cell.",
                                      buckets=_LATENCY_BUCKETS, registry=r)
        self.code_runs = Counter("mathtutor_code_runs", "Code cells run in the sandbox.", registry=r)
        self.sandbox_kills = Counter("mathtutor_sandbox_kills",
                                     "Cells that timed out or whose kernel was restarted.", ["reason"], registry=r)
        self.errors = Counter("mathtutor_errors", "Errors shown to users, by code.", ["code"], registry=r)
        self.logins = Counter("mathtutor_logins", "Sign-in attempts, by outcome.", ["outcome"], registry=r)
        self.rate_limited = Counter("mathtutor_rate_limited", "Actions refused by the per-user rate limit.",
                                    ["action"], registry=r)
        self.queue_seconds = Histogram("mathtutor_queue_seconds", "Time an action waited for a turn slot.",
                                       buckets=_LATENCY_BUCKETS, registry=r)
        self.active_turns = Gauge("mathtutor_active_turns", "Tutor actions running now.", registry=r)

    def error(self, code: str) -> None:
        self.errors.labels(code=code).inc()

    def observe(self, action: str, events: Iterable[Event]) -> Iterator[Event]:
        """Pass events through unchanged while counting what they say."""
        start = time.monotonic()
        first = True
        outcome = "ok"
        self.active_turns.inc()
        try:
            for event in events:
                if first:
                    self.first_event_seconds.labels(action=action).observe(time.monotonic() - start)
                    first = False
                self._count(event)
                if event.kind == "error":
                    outcome = "error"
                elif event.kind == "done" and getattr(event, "stopped", "") == "cancelled":
                    outcome = "cancelled"
                yield event
        except GeneratorExit:
            outcome = "cancelled"
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            self.active_turns.dec()
            self.turns.labels(action=action, outcome=outcome).inc()
            self.turn_seconds.labels(action=action).observe(time.monotonic() - start)

    def _count(self, event: Event) -> None:
        kind = event.kind
        if kind == "round_text":
            self.rounds.inc()
        elif kind == "output":
            self.code_runs.inc()
            self.code_seconds.observe(float(getattr(event, "duration_s", 0.0)))
            if getattr(event, "timed_out", False):
                self.sandbox_kills.labels(reason="timeout").inc()
            elif getattr(event, "restarted", False):
                self.sandbox_kills.labels(reason="restart").inc()
        elif kind == "error":
            self.error(getattr(event, "code", "error"))
        elif kind == "done":
            self.tokens.labels(direction="in").inc(max(0, int(getattr(event, "tokens_in", 0))))
            self.tokens.labels(direction="out").inc(max(0, int(getattr(event, "tokens_out", 0))))
            model_s = float(getattr(event, "model_seconds", 0.0))
            if model_s > 0:
                self.model_seconds.observe(model_s)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
