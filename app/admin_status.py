"""The service status an admin watches: the model backend (id, device, dtype, loaded, recent tokens/s
and latency), the sandbox (self-check, live and warm kernels, recent kills), the store (database,
migration head) and recent errors.

"Recent" rates come from this app's own Prometheus counters: each look at the status page keeps a
snapshot, and rates are taken over the snapshots of the last few minutes (since start-up on the
first look), so they move with the load instead of averaging over the process's whole life.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from app.render import escape

WINDOW_S = 300.0


@dataclass(frozen=True)
class Snapshot:
    at: float
    tokens_out: float
    model_s: float
    turns: float
    turn_s: float
    rounds: float
    errors: dict[str, float]
    kills: dict[str, float]


@dataclass
class StatusReport:
    backend: dict[str, Any]
    sandbox: dict[str, Any]
    store: dict[str, Any]
    traffic: dict[str, Any]
    errors: list[tuple[str, int]] = field(default_factory=list)   # (code, count in the window)
    recent_errors: list[tuple[str, int, str, str]] = field(default_factory=list)  # (when, session, code, message)


def _sample(metrics: Any) -> Snapshot:
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in metrics.registry.collect():
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def total(name: str, **match: str) -> float:
        return sum(v for (n, labels), v in values.items()
                   if n == name and all(dict(labels).get(k) == val for k, val in match.items()))

    def by(name: str, label: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for (n, labels), v in values.items():
            if n == name and label in dict(labels):
                out[dict(labels)[label]] = out.get(dict(labels)[label], 0.0) + v
        return out

    return Snapshot(at=time.monotonic(), tokens_out=total("mathtutor_tokens_total", direction="out"),
                    model_s=total("mathtutor_model_seconds_sum"), turns=total("mathtutor_turn_seconds_count"),
                    turn_s=total("mathtutor_turn_seconds_sum"), rounds=total("mathtutor_rounds_total"),
                    errors=by("mathtutor_errors_total", "code"), kills=by("mathtutor_sandbox_kills_total", "reason"))


class StatusBoard:
    """Keeps recent metric snapshots of one app and builds the status report."""

    def __init__(self, ctx: Any, window_s: float = WINDOW_S):
        self.ctx = ctx
        self.window_s = window_s
        self._lock = threading.Lock()
        self._zero = Snapshot(time.monotonic(), 0.0, 0.0, 0.0, 0.0, 0.0, {}, {})
        self._snaps: collections.deque[Snapshot] = collections.deque(maxlen=120)

    def _window(self) -> tuple[Snapshot, Snapshot]:
        now = _sample(self.ctx.metrics)
        with self._lock:
            while self._snaps and now.at - self._snaps[0].at > self.window_s:
                self._snaps.popleft()
            base = self._snaps[0] if self._snaps else self._zero
            self._snaps.append(now)
        return base, now

    def report(self) -> StatusReport:
        base, now = self._window()
        d_tokens, d_model = now.tokens_out - base.tokens_out, now.model_s - base.model_s
        d_turns, d_turn_s = now.turns - base.turns, now.turn_s - base.turn_s
        traffic = {"window_s": round(now.at - base.at, 1),
                   "tokens_per_s": round(d_tokens / d_model, 1) if d_model > 0 else None,
                   "turns": int(d_turns), "mean_turn_latency_s": round(d_turn_s / d_turns, 3) if d_turns else None,
                   "rounds": int(now.rounds - base.rounds),
                   "tokens_out_total": int(now.tokens_out), "turns_total": int(now.turns)}
        errors = sorted(((code, int(v - base.errors.get(code, 0.0))) for code, v in now.errors.items()
                         if v - base.errors.get(code, 0.0) > 0), key=lambda t: -t[1])
        kills = {reason: int(v - base.kills.get(reason, 0.0)) for reason, v in now.kills.items()}
        return StatusReport(backend=self._backend(), sandbox=self._sandbox(kills), store=self._store(),
                            traffic=traffic, errors=errors, recent_errors=self._recent_errors())

    def _recent_errors(self, limit: int = 10) -> list[tuple[str, int, str, str]]:
        """Errors users were shown, from the store: every app replica's, not just this process's."""
        try:
            events = self.ctx.store.recent_events(kind="error", limit=limit)
        except Exception:  # noqa: BLE001 - the store's own state is reported above
            return []
        return [(f"{e.at:%Y-%m-%d %H:%M:%S}", e.session_id, str(e.data.get("code", "")), str(e.data.get("message", "")))
                for e in events]

    def _backend(self) -> dict[str, Any]:
        settings, service = self.ctx.settings, self.ctx.service
        backend = service.backend_or_none() if hasattr(service, "backend_or_none") else None
        kind = settings.solver.backend.split(":", 1)[0]
        name = getattr(backend, "name", None)
        # Only a model this process loads has a device and dtype, and only a real backend has a model:
        # a replay or scripted backend would otherwise be reported as the configured 7B model on "auto".
        local = kind == "transformers" and (backend is None or "transformers" in str(name or "transformers"))
        served = kind in ("openai", "llamacpp")
        model = getattr(backend, "model_name", None) or (settings.solver.model if local or served else None)
        return {"kind": settings.solver.backend, "name": name, "model": model,
                "device": str(getattr(backend, "device", None) or settings.solver.device) if local else None,
                "dtype": str(getattr(backend, "dtype", None) or settings.solver.dtype) if local else None,
                "loaded": backend is not None}

    def _sandbox(self, kills: dict[str, int]) -> dict[str, Any]:
        try:
            health = self.ctx.service.health()
        except Exception as exc:  # noqa: BLE001 - a status page reports a broken part, it does not break
            return {"state": f"error: {exc}", "kills_in_window": kills, "problem": f"error: {exc}"}
        sb = health.get("sandbox")
        if not isinstance(sb, dict) and getattr(self.ctx, "pool", None) is not None:
            # the service starts kernels lazily; `mathtutor serve` started (or failed to start) the pool itself
            try:
                sb = self.ctx.pool.health()
            except Exception as exc:  # noqa: BLE001
                sb = {"ok": False, "error": str(exc)}
        if not isinstance(sb, dict):
            return {"state": str(sb), "kills_in_window": kills, "live_sessions": health.get("live_sessions")}
        check = sb.get("self_check") or {}
        kernels = sb.get("kernels") or {}
        return {"state": "ok" if sb.get("ok") else ("error: " + str(sb.get("error")) if sb.get("error") else "not ok"),
                "problem": sandbox_problem(sb),
                "self_check": "passed" if check.get("ok") else (check.get("error") or "not passed"),
                "live": kernels.get("live"), "warm": kernels.get("warm"), "in_use": kernels.get("in_use"),
                "max": kernels.get("max"), "recent_kills": sb.get("recent_kills") or [],
                "kills_in_window": kills, "live_sessions": health.get("live_sessions")}

    def _store(self) -> dict[str, Any]:
        try:
            return dict(self.ctx.store.health())
        except Exception as exc:  # noqa: BLE001
            return {"ok": False, "error": str(exc)}


def sandbox_problem(sb: dict[str, Any]) -> str | None:
    """Why the sandbox runs no code, in the admin's terms (None when it is fine): its own error, the
    isolation layers it lacks, the self-check findings. Students are told only that it is switched off."""
    if sb.get("ok"):
        return None
    if sb.get("error"):
        return str(sb["error"])   # the sandbox's own account (SandboxUnsafe's message) says it all
    allowed = set(sb.get("allowed_missing") or ())
    reasons = [f"{name} missing ({layer.get('detail')})" for name, layer in (sb.get("layers") or {}).items()
               if isinstance(layer, dict) and not layer.get("active") and name not in allowed]
    checks = (sb.get("self_check") or {}).get("checks") or {}
    reasons += [f"self-check {name}: {c.get('detail')}" for name, c in checks.items()
                if isinstance(c, dict) and not c.get("ok")]
    return "; ".join(reasons) or "the sandbox is not running"


def status_markdown(r: StatusReport) -> str:
    """The report as Markdown; every value escaped (kill reasons and errors may quote user code)."""
    def v(x: Any) -> str:
        return "—" if x is None else escape(str(x))

    b, s, st, t = r.backend, r.sandbox, r.store, r.traffic
    lines = []
    if s.get("problem"):
        lines += [f"> **Warning. The code sandbox is switched off: no code runs.** {v(s['problem'])}. Students are told "
                  "the calculator is switched off on this server. Run `mathtutor sandbox check` on the server "
                  "to see each layer.", ""]
    lines += ["### Model backend",
             f"- **backend:** {v(b['kind'])} ({v(b['name'])}) · **loaded:** {'yes' if b['loaded'] else 'no'}",
             (f"- **model:** {v(b['model'])}" + (f" · **device:** {v(b['device'])} · **dtype:** {v(b['dtype'])}"
                                                 if b.get("device") else "")) if b.get("model") else
             f"- **model:** none: the {v(str(b['kind']).split(':', 1)[0])} backend plays recorded or scripted replies",
             f"- **last {v(t['window_s'])} s:** {v(t['turns'])} turns, {v(t['rounds'])} rounds · "
             f"**tokens/s:** {v(t['tokens_per_s'])} · **mean turn latency:** "
             + (f"{v(t['mean_turn_latency_s'])} s" if t["mean_turn_latency_s"] is not None else "—"),
             f"- **since start:** {v(t['turns_total'])} turns, {v(t['tokens_out_total'])} tokens generated",
             "### Sandbox",
             f"- **state:** {v(s.get('state'))} · **self-check:** {v(s.get('self_check'))}",
             f"- **kernels:** live {v(s.get('live'))}, warm {v(s.get('warm'))}, in use {v(s.get('in_use'))}, "
             f"max {v(s.get('max'))} · **live tutoring sessions:** {v(s.get('live_sessions'))}",
             f"- **kills in window:** {v(s.get('kills_in_window') or 'none')}"]
    for kill in (s.get("recent_kills") or [])[-5:]:
        lines.append(f"  - {v(kill)}")
    lines += ["### Store",
              f"- **database:** {v(st.get('dialect'))} `{v(st.get('url'))}` · **ok:** {'yes' if st.get('ok') else 'no'}"
              f" · **writable:** {'yes' if st.get('writable') else 'no'}",
              f"- **migration:** {v(st.get('revision'))} (head {v(st.get('head'))})"
              + (f" · problem: {v(st.get('error'))}" if st.get("error") else ""),
              "### Recent errors"]
    if r.errors:
        lines.append(f"- **shown by this process in the last {v(t['window_s'])} s:** "
                     + ", ".join(f"`{v(code)}` × {n}" for code, n in r.errors))
    if r.recent_errors:
        lines.append("- **latest errors students were shown (every process):**")
    for when, session_id, code, message in r.recent_errors:
        lines.append(f"  - {v(when)} · session #{v(session_id)} · `{v(code)}` — {v(message[:200])}")
    if not r.errors and not r.recent_errors:
        lines.append("- none: no session has recorded an error")
    return "\n".join(lines)
