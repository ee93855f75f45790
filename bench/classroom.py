"""Classroom simulation for bench/serving_bench.py: students starting tutoring problems on one GPU.

A discrete-event simulation, so it runs in a second and the shared CPU box cannot disturb it. The
model is scripted: each hidden call has a prompt and a reply length (tokens) close to what a start
makes today (a 3-round tool-integrated solve with code runs between rounds, a check program, a
second route, skill tagging, then the first hint: ~850 new tokens over 7 calls). The GPU is a cost
model taken from measured rates: a decode step with B rows takes t1 * (1 + cost * (B - 1)) where
t1 = 1 / batch-1 tokens/s, and encoding a prompt takes prompt / prefill tokens/s.

Three ways to serve it:
  interleaved   the old backend: one token of one request per step, requests taking turns;
  batched       one step advances every running call (this backend, vLLM, SGLang);
  batched + check || 2nd route  the key's check program and second route issued together (tutoring/
                key.py; the service before issue 13 item 3);
  batched + early opening + hint ahead  what the tutoring service does now: the opening is said once the
                solve and its steps are done, and the first hint is written then, beside the check and
                the second route; the student asks for it when the start ends (after tagging), and it
                needs no model call then;
  batched + overlapped calls  a bound, not done: also skill tagging at once, and the hint shown unasked.
Opening: the first tutor message; before item 3 it came at the end of the start (after tagging).
"""

from __future__ import annotations

import heapq
import json
import random
import statistics

# name: (prompt tokens, new tokens, code run after it in seconds, calls it waits for)
START_CALLS = {
    "solve1": (300, 180, 0.15, ()),
    "solve2": (40, 120, 0.15, ("solve1",)),      # the turn's KV is reused: only the output block is encoded
    "solve3": (30, 60, 0.0, ("solve2",)),
    "check": (420, 150, 0.15, ("solve3",)),
    "route2": (300, 250, 0.15, ("check",)),
    "tag": (200, 10, 0.0, ("route2",)),
    "hint": (520, 80, 0.0, ("tag",)),
}
# what tutoring/key.py does now: the second route runs beside the check program
KEY_OVERLAP = dict(START_CALLS, route2=(300, 250, 0.15, ("solve3",)), tag=(200, 10, 0.0, ("check", "route2")))
OVERLAPPED = dict(START_CALLS, check=(420, 150, 0.15, ("solve3",)), route2=(300, 250, 0.15, ("solve3",)),
                  tag=(200, 10, 0.0, ()), hint=(520, 80, 0.0, ("solve3",)))
NOW = dict(KEY_OVERLAP, hint=(520, 80, 0.0, ("solve3",)))
KEY_READY = ("check", "route2")
PREFILL_TOK_S = 8000.0


def simulate(students: int, starts: list[float], calls: dict, mode: str, tok_s: float, cost: float,
             opening_after: tuple[str, ...] = ("tag",), hint_after: tuple[str, ...] = ("hint",)) -> dict:
    """Seconds from each student's start to the first hint they can see (it is shown once every call
    in `hint_after` is done), to the opening (`opening_after`) and to a ready key."""
    t1 = 1.0 / tok_s
    ready: list[tuple[float, int, int, str]] = []       # (time, seq, student, call)
    seq = 0
    done: list[dict[str, float]] = [{} for _ in range(students)]
    for s, t in enumerate(starts):
        for name, (_, _, _, deps) in calls.items():
            if not deps:
                heapq.heappush(ready, (t, seq, s, name))
                seq += 1
    active: list[list] = []          # [student, call, tokens left]
    now, turn, generated = 0.0, 0, 0
    while ready or active:
        if not active and ready[0][0] > now:
            now = ready[0][0]
        step = 0.0
        while ready and ready[0][0] <= now:
            _, _, s, name = heapq.heappop(ready)
            prompt, new, _, _ = calls[name]
            step += prompt / PREFILL_TOK_S
            active.append([s, name, new])
        if mode == "interleaved":
            turn %= len(active)
            advanced = [active[turn]]
            turn += 1
            step += t1
        else:
            advanced = list(active)
            step += t1 * (1 + cost * (len(active) - 1))
        now += step
        for row in advanced:
            row[2] -= 1
            generated += 1
        for row in [r for r in active if r[2] <= 0]:
            active.remove(row)
            s, name = row[0], row[1]
            done[s][name] = now
            for nxt, (_, _, _, deps) in calls.items():
                if name in deps and all(d in done[s] for d in deps):
                    after = max(done[s][d] + calls[d][2] for d in deps)
                    heapq.heappush(ready, (after, seq, s, nxt))
                    seq += 1
    def after(s: int, names: tuple[str, ...]) -> float:
        return max(done[s][k] + calls[k][2] for k in names) - starts[s]
    return {"hint": [after(s, hint_after) for s in range(students)],
            "opening": [after(s, opening_after) for s in range(students)],
            "key": [after(s, KEY_READY) for s in range(students)], "tok_s": generated / (now - min(starts))}


def _p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def simulate_classroom(students: int, tok_s: float, cost: float, *, as_json: bool = False, seed: int = 0) -> None:
    rng = random.Random(seed)
    starts = sorted(rng.uniform(0.0, 60.0) for _ in range(students))
    new_tokens = sum(c[1] for c in START_CALLS.values())
    if not as_json:
        print(f"classroom: {students} students start a tutoring problem within 60 s; {len(START_CALLS)} model calls, "
              f"{new_tokens} new tokens per start; simulated GPU {tok_s:.0f} tokens/s at batch 1, "
              f"+{cost:.3f} step time per extra row, prefill {PREFILL_TOK_S:.0f} tokens/s")
    early = (("solve3",), ("hint", "tag"))   # (opening after, hint shown after) in the service now
    one = simulate(1, [0.0], START_CALLS, "batched", tok_s, cost)
    now_one = simulate(1, [0.0], NOW, "batched", tok_s, cost, *early)
    rows = [("interleaved (old backend)", START_CALLS, "interleaved", (("tag",), ("hint",))),
            ("batched", START_CALLS, "batched", (("tag",), ("hint",))),
            ("batched + check || 2nd route", KEY_OVERLAP, "batched", (("tag",), ("hint",))),
            ("batched + early opening + hint ahead", NOW, "batched", early),
            ("batched + overlapped calls", OVERLAPPED, "batched", (("solve3",), ("hint",)))]
    for label, calls, mode, shown in rows:
        r = simulate(students, starts, calls, mode, tok_s, cost, *shown)
        figures = {"classroom": label, "students": students, "opening_p50_s": round(_p(r["opening"], .5), 2),
                   "opening_p95_s": round(_p(r["opening"], .95), 2), "first_hint_p50_s": round(_p(r["hint"], .5), 2),
                   "first_hint_p95_s": round(_p(r["hint"], .95), 2), "key_ready_p50_s": round(_p(r["key"], .5), 2),
                   "key_ready_p95_s": round(_p(r["key"], .95), 2), "gpu_tok_s": round(r["tok_s"], 1)}
        if as_json:
            print(json.dumps(figures), flush=True)
        else:
            print(f"  {label:<37} opening p50 {figures['opening_p50_s']:5.2f} s, p95 {figures['opening_p95_s']:5.2f} s; "
                  f"first hint p50 {figures['first_hint_p50_s']:6.2f} s, p95 {figures['first_hint_p95_s']:6.2f} s; "
                  f"key ready p50 {figures['key_ready_p50_s']:6.2f} s, p95 {figures['key_ready_p95_s']:6.2f} s; "
                  f"GPU average {figures['gpu_tok_s']:.0f} tokens/s")
    if not as_json:
        print(f"  one student alone, batched: opening {statistics.mean(one['opening']):.2f} s, first hint "
              f"{statistics.mean(one['hint']):.2f} s, key ready {statistics.mean(one['key']):.2f} s; now: opening "
              f"{statistics.mean(now_one['opening']):.2f} s, first hint {statistics.mean(now_one['hint']):.2f} s")
