"""Load bench: simulated students working concurrently through the student HTTP API.

Each student signs in, starts a solve-mode session on a GSM8K question and asks follow-up questions in
it (a few turns per session, then a new session), until the time is up. The model is the replay
backend playing ToRA-Code-34B's recorded trajectories (with a per-token delay standing in for a fast
GPU); every code block really runs in a sandboxed kernel; the store is SQLite (or --database-url).

Figures: the latency the web app adds per round (client wall time minus the model's and the
kernel's own time, over the turn's rounds), p50/p95, against a baseline measured in the same run
(the same turns through the service in-process, one at a time, no HTTP); time to first byte; errors
by code; and a check that every event each student received is in the store, in order.

    .venv/bin/python bench/load_students.py --students 50 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import random
import re
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tora" / "tora-code-34b_gsm8k.jsonl"
PASSWORD = "load bench password"


@dataclass
class Turn:
    student: int
    session_id: int | None
    first: bool
    status: int
    wall_s: float
    ttfb_s: float
    queue_s: float = 0.0
    rounds: int = 0
    model_s: float = 0.0
    code_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)   # streamed events other than text deltas

    @property
    def added_per_round_s(self) -> float:
        return max(0.0, self.wall_s - self.model_s - self.code_s) / max(1, self.rounds)

    @property
    def stack_per_round_s(self) -> float:
        """What the web app adds besides waiting for a turn slot."""
        return max(0.0, self.wall_s - self.queue_s - self.model_s - self.code_s) / max(1, self.rounds)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))]


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def questions_from(path: Path, limit: int) -> list[str]:
    from tutor.solver.backends.replay import load_trajectories
    trajs = [t for t in load_trajectories(path) if "```python" in t.text][:limit]
    return [t.question for t in trajs]


# --- baseline: the same kind of turns through the service, in-process, one at a time ----------------

def baseline(service: Any, store: Any, questions: list[str], turns: int) -> tuple[list[float], list[float]]:
    """Added latency per round of first turns (a kernel starts) and of follow-up turns."""
    user = store.create_user("baseline", "teacher", password=PASSWORD)   # teachers may use solve mode
    first: list[float] = []
    follow: list[float] = []
    sid = None
    for n in range(turns):
        q = questions[n % len(questions)]
        t0 = time.monotonic()
        starting = sid is None or n % 3 == 0
        if starting:
            events = list(service.start_session(user.id, question=q, mode="solve"))
            sid = events[0].session_id
        else:
            events = list(service.ask(user.id, sid, q))
        wall = time.monotonic() - t0
        done = [e for e in events if e.kind == "done"]
        if done:
            d = done[-1]
            (first if starting else follow).append(max(0.0, wall - d.model_seconds - d.code_seconds) / max(1, d.rounds))
    return first, follow


# --- the simulated students -----------------------------------------------------------------------------

async def sign_in(client: Any, name: str) -> str:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    if r.status_code != 303:
        raise RuntimeError(f"{name} could not sign in: {r.status_code}")
    return (await client.get("/api/me")).json()["csrf_token"]


async def one_turn(client: Any, student: int, token: str, sid: int | None, question: str) -> Turn:
    if sid is None:
        url, body = "/api/sessions", {"question": question, "mode": "solve"}
    else:
        url, body = f"/api/sessions/{sid}/ask", {"text": question}
    t0 = time.monotonic()
    turn = Turn(student, sid, sid is None, 0, 0.0, 0.0)
    async with client.stream("POST", url, json=body, headers={"x-csrf-token": token}) as r:
        turn.status = r.status_code
        m = re.search(r"queue;dur=([0-9.]+)", r.headers.get("server-timing", ""))
        turn.queue_s = float(m.group(1)) / 1000 if m else 0.0
        if r.status_code != 200:
            raw = await r.aread()
            turn.wall_s = turn.ttfb_s = time.monotonic() - t0
            try:
                turn.errors.append(json.loads(raw).get("error", f"http_{r.status_code}"))
            except ValueError:
                turn.errors.append(f"http_{r.status_code}")
            return turn
        async for line in r.aiter_lines():
            if not line.strip():
                continue
            if not turn.ttfb_s:
                turn.ttfb_s = time.monotonic() - t0
            event = json.loads(line)
            kind = event["kind"]
            if kind == "text":
                continue
            turn.kinds.append(kind)
            if kind == "session_started":
                turn.session_id = event["session_id"]
            elif kind == "error":
                turn.errors.append(event["code"])
            elif kind == "done":
                turn.rounds, turn.model_s, turn.code_s = event["rounds"], event["model_seconds"], event["code_seconds"]
    turn.wall_s = time.monotonic() - t0
    return turn


async def student(n: int, base_url: str, questions: list[str], deadline: float, per_session: int,
                  turns: list[Turn], rng: random.Random) -> None:
    import httpx
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
        token = await sign_in(client, f"student{n:02d}")
        while time.monotonic() < deadline:
            sid = None
            for _ in range(per_session):
                if time.monotonic() >= deadline:
                    return
                turn = await one_turn(client, n, token, sid, rng.choice(questions))
                turns.append(turn)
                if turn.session_id is None or "context_full" in turn.errors:
                    break
                sid = turn.session_id


def clients(url: str, questions: list[str], students: int, duration: float, per_session: int, seed: int,
            conn: Any) -> None:
    """Child process: run every student, send back their turns."""
    turns: list[Turn] = []
    rng = random.Random(seed)

    async def run() -> None:
        deadline = time.monotonic() + duration
        await asyncio.wait_for(asyncio.gather(*(
            student(n, url, questions, deadline, per_session, turns, random.Random(rng.random()))
            for n in range(students))), timeout=duration + 600)

    asyncio.run(run())
    conn.send([dataclasses.asdict(t) for t in turns])
    conn.close()


def serve(app: Any) -> tuple[Any, threading.Thread, str]:
    import uvicorn
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           limit_concurrency=None, backlog=512))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def store_check(store: Any, turns: list[Turn]) -> tuple[int, int, int]:
    """(sessions, streamed events, events missing from the store or out of order)."""
    by_session: dict[int, list[str]] = {}
    for t in turns:
        if t.session_id is not None:
            by_session.setdefault(t.session_id, [])
    streamed = missing = 0
    # turns of one session ran one after another, in the order the student sent them
    for sid in by_session:
        sent = [k for t in turns if t.session_id == sid for k in t.kinds]
        stored = [e.kind for e in store.events(sid)]
        streamed += len(sent)
        i = 0
        for kind in sent:
            while i < len(stored) and stored[i] != kind:
                i += 1
            if i == len(stored):
                missing += 1
            else:
                i += 1
    return len(by_session), streamed, missing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds during which students start turns")
    ap.add_argument("--turns-per-session", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8, help="web_max_concurrent_turns")
    ap.add_argument("--delay-ms", type=float, default=2.0, help="replay delay per token (a fast GPU ~ 2 ms)")
    ap.add_argument("--baseline-turns", type=int, default=12)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--database-url", default="", help="empty: SQLite in a temporary directory")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import os
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from app.main import create_app
    from sandbox import KernelPool
    from tutor.solver.backends.replay import ReplayBackend, load_trajectories
    from tutor.tutoring.service import TutorService
    from tutor.settings import load_settings
    from tutor.store import Store
    from tutor.store.passwords import make_hasher

    tmp = Path(tempfile.mkdtemp(prefix="mt-load-"))
    base = load_settings()
    sandbox = dataclasses.replace(base.sandbox, warm_kernels=4, max_kernels=2 * args.students + 8,
                                  idle_timeout_s=30.0)
    settings = load_settings(data_dir=tmp, backend="replay", database_url=args.database_url,
                             web_max_concurrent_turns=args.concurrency, web_asks_per_minute=0, sandbox=sandbox)
    store = Store(settings.effective_database_url, hasher=make_hasher(time_cost=1, memory_kib=1024, parallelism=1))
    store.upgrade()
    cls = store.create_class("load", allow_solve_mode=True)
    for n in range(args.students):
        store.enroll(cls.id, store.create_user(f"student{n:02d}", "student", password=PASSWORD).id)
    questions = questions_from(args.data, 400)
    backend = ReplayBackend(load_trajectories(args.data), delay_s=args.delay_ms / 1000)
    pool = KernelPool(settings.sandbox, tmp / "kernels")
    pool.start()
    service = TutorService.from_settings(settings, store=store, backend=backend, pool=pool)
    print(f"load_students: {args.students} students for {args.duration:g} s, {args.concurrency} concurrent turns, "
          f"replay {args.delay_ms:g} ms/token, store {store.dialect}, real kernels (max {sandbox.max_kernels})")
    print("note: a shared 2-core machine; figures are noisy when other work runs")

    base_first, base_follow = baseline(service, store, questions, args.baseline_turns)
    print(f"baseline (service in-process, one turn at a time, {len(base_first) + len(base_follow)} turns): "
          f"added per round, first turn of a session p50 {ms(pct(base_first, 50))}; "
          f"follow-ups p50 {ms(pct(base_follow, 50))}, p95 {ms(pct(base_follow, 95))}")

    app = create_app(settings, service=service, store=store, pool=pool)
    server, thread, url = serve(app)
    # The simulated students run in a child process with its own interpreter lock, so the clients do
    # not slow down the server they measure.
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=clients, args=(url, questions, args.students, args.duration, args.turns_per_session,
                                             args.seed, child))
    start = time.monotonic()
    proc.start()
    child.close()
    turns = [Turn(**d) for d in parent.recv()]
    proc.join(timeout=60)
    elapsed = time.monotonic() - start
    ok = [t for t in turns if t.status == 200 and t.rounds]
    added = [t.added_per_round_s for t in ok]
    errors = Counter(code for t in turns for code in t.errors)
    rounds = sum(t.rounds for t in ok)
    print(f"load (HTTP API, {args.students} students): {len(turns)} turns, {rounds} rounds in {elapsed:.1f} s "
          f"= {len(turns) / elapsed:.2f} turns/s; turns with errors: {sum(1 for t in turns if t.errors)}; "
          f"errors by code: {dict(errors) or 'none'}")
    queue = [t.queue_s for t in ok]
    s_first = [t.stack_per_round_s for t in ok if t.first]
    s_follow = [t.stack_per_round_s for t in ok if not t.first]

    def x(a: float, b: float) -> str:
        return f"x{a / max(b, 1e-9):.1f}"

    print(f"  added latency per round by the web stack (slot wait excluded): follow-ups p50 {ms(pct(s_follow, 50))}, "
          f"p95 {ms(pct(s_follow, 95))} ({x(pct(s_follow, 50), pct(base_follow, 50))} / "
          f"{x(pct(s_follow, 95), pct(base_follow, 95))} the baseline's); first turns (a kernel starts) "
          f"p50 {ms(pct(s_first, 50))}, p95 {ms(pct(s_first, 95))} ({x(pct(s_first, 50), pct(base_first, 50))})")
    print(f"  added latency per round, all-in: p50 {ms(pct(added, 50))}, p95 {ms(pct(added, 95))}; of which waiting "
          f"for one of {args.concurrency} turn slots, per turn: p50 {ms(pct(queue, 50))}, p95 {ms(pct(queue, 95))}")
    print(f"  time to first byte: p50 {ms(pct([t.ttfb_s for t in ok], 50))}, p95 {ms(pct([t.ttfb_s for t in ok], 95))}; "
          f"model per turn p50 {ms(pct([t.model_s for t in ok], 50))}, code per turn p50 {ms(pct([t.code_s for t in ok], 50))}")
    sessions, streamed, missing = store_check(store, turns)
    print(f"store: {sessions} sessions, {streamed} streamed events checked, missing or out of order: {missing}")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "load_students.json").write_text(json.dumps({
        "args": {k: str(v) for k, v in vars(args).items()}, "elapsed_s": elapsed,
        "baseline_added_per_round_s": {"first": base_first, "follow": base_follow}, "turns": [dataclasses.asdict(t) for t in turns]}, indent=1))

    server.should_exit = True
    thread.join(timeout=30)
    service.close()
    pool.close()
    store.close()
    if missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
