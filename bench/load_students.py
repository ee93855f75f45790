"""Load bench: a class of simulated students using the student HTTP API the way a class does.

Students join over a ramp, think between actions (drawn uniformly from --think, default 20-60 s) and mix
what a class does: most work tutoring sessions on the teacher's assigned problems (start, hints, steps,
answers; the key comes from the teacher's worked solution, checked by the CAS workers), some ask the
tutor to solve a question (solve turns: the replay backend plays ToRA-Code-34B's recorded trajectories
with a per-token delay standing in for a fast GPU, and every code block runs in a real sandboxed kernel),
with follow-up questions. The store is SQLite (a temporary file) or PostgreSQL (a fresh database).

Figures per class size: actions, errors (by code; a non-200 answer or an error event), the latency the
web app adds per action (client wall time minus the model's and the kernels' own time, per model round)
p50/p95 over everything but session starts; first turns of solve sessions (a kernel is needed) p95; how
many actions waited in line; and a check that every event a student received is in the store, in order.
The largest class size whose added p95 stays under --target-ms with zero errors is `max_class_ok`.

    .venv/bin/python bench/load_students.py --students 200 --duration 120 --store sqlite
    .venv/bin/python bench/load_students.py --students 50,100,200 --duration 120 --store postgresql --json
    .venv/bin/python bench/load_students.py --students 20 --duration 30 --think 2,6    # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import random
import re
import secrets
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
from bench.thread_sampler import Sampler  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tora" / "tora-code-34b_gsm8k.jsonl"
PASSWORD = "load bench password"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


@dataclass
class Action:
    student: int
    kind: str                 # start_tutor | start_solve | ask | hint | step | answer
    session_id: int | None
    status: int = 0
    wall_s: float = 0.0
    ttfb_s: float = 0.0
    rounds: int = 0
    model_s: float = 0.0
    code_s: float = 0.0
    waited: list[str] = field(default_factory=list)   # what it waited in line for, if anything
    errors: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)    # streamed events other than text deltas and waits

    @property
    def added_s(self) -> float:
        return max(0.0, self.wall_s - self.model_s - self.code_s) / max(1, self.rounds)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))]


# --- one student ------------------------------------------------------------------------------------------

async def sign_in(client: Any, name: str) -> str:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    if r.status_code != 303:
        raise RuntimeError(f"{name} could not sign in: {r.status_code}")
    return (await client.get("/api/me")).json()["csrf_token"]


async def act(client: Any, token: str, a: Action, url: str, body: dict) -> Action:
    t0 = time.monotonic()
    async with client.stream("POST", url, json=body, headers={"x-csrf-token": token}) as r:
        a.status = r.status_code
        if r.status_code != 200:
            raw = await r.aread()
            a.wall_s = a.ttfb_s = time.monotonic() - t0
            try:
                a.errors.append(json.loads(raw).get("error", f"http_{r.status_code}"))
            except ValueError:
                a.errors.append(f"http_{r.status_code}")
            return a
        async for line in r.aiter_lines():
            if not line.strip():
                continue
            if not a.ttfb_s:
                a.ttfb_s = time.monotonic() - t0
            event = json.loads(line)
            kind = event["kind"]
            if kind == "waiting":
                if event["place"]:
                    a.waited.append(event["what"])
                continue
            if kind == "text" or (kind == "key_status" and event["status"] == "preparing"):
                continue   # streamed pieces and the transient "preparing" are not stored as such
            a.kinds.append(kind)
            if kind == "session_started":
                a.session_id = event["session_id"]
            elif kind == "error":
                a.errors.append(event["code"])
            elif kind == "done":
                a.rounds += event["rounds"]
                a.model_s += event["model_seconds"]
                a.code_s += event["code_seconds"]
    a.wall_s = time.monotonic() - t0
    return a


async def student(n: int, url: str, cfg: dict, deadline: float, out: list[Action], rng: random.Random) -> None:
    import httpx

    async def think() -> bool:
        await asyncio.sleep(min(rng.uniform(*cfg["think"]), max(0.0, deadline - time.monotonic())))
        return time.monotonic() < deadline

    await asyncio.sleep(rng.uniform(0, cfg["ramp"]))
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        token = await sign_in(client, f"student{n:03d}")
        while time.monotonic() < deadline:
            if rng.random() < cfg["solve_share"]:
                q = rng.choice(cfg["questions"])
                a = await act(client, token, Action(n, "start_solve", None), "/api/sessions", {"question": q, "mode": "solve"})
                plan = [("ask", "/ask", {"text": q})] * rng.randint(1, 2)
            else:
                pid, gt = rng.choice(cfg["problems"])
                a = await act(client, token, Action(n, "start_tutor", None), "/api/sessions",
                              {"problem_id": pid, "mode": "tutor"})
                plan = [("hint", "/hint", {"bottom_out": False}), ("step", "/submit", {"text": "x = 12 + 3", "kind": "step"}),
                        ("hint", "/hint", {"bottom_out": False}), ("answer", "/submit", {"text": gt, "kind": "answer"})]
                plan = plan[rng.randint(0, 2):]
            out.append(a)
            if a.session_id is None:
                if not await think():
                    return
                continue
            for kind, path, body in plan:
                if not await think():
                    return
                out.append(await act(client, token, Action(n, kind, a.session_id),
                                     f"/api/sessions/{a.session_id}{path}", body))
            if not await think():
                return


def clients(url: str, cfg: dict, students: int, duration: float, seed: int, conn: Any) -> None:
    """Child process (its own interpreter lock, so the clients do not slow the server they measure)."""
    out: list[Action] = []
    rng = random.Random(seed)

    async def run() -> None:
        deadline = time.monotonic() + duration
        await asyncio.wait_for(asyncio.gather(*(
            student(n, url, cfg, deadline, out, random.Random(rng.random())) for n in range(students))),
            timeout=duration + 900)

    asyncio.run(run())
    conn.send([dataclasses.asdict(a) for a in out])
    conn.close()


# --- the server --------------------------------------------------------------------------------------------

def serve(app: Any) -> tuple[Any, threading.Thread, str]:
    import uvicorn
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           limit_concurrency=None, backlog=2048))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def store_check(store: Any, actions: list[Action]) -> tuple[int, int, Counter]:
    """(sessions, streamed events, events missing from the store or out of order, by kind)."""
    sids = {a.session_id for a in actions if a.session_id is not None}
    streamed = 0
    missing: Counter = Counter()
    for sid in sids:   # a session's actions ran one after another, in the order the student sent them
        sent = [k for a in actions if a.session_id == sid for k in a.kinds]
        stored = [e.kind for e in store.events(sid)]
        streamed += len(sent)
        i = 0
        for kind in sent:
            j = i
            while j < len(stored) and stored[j] != kind:
                j += 1
            if j == len(stored):
                missing[kind] += 1   # (the next one is looked for from the same place)
            else:
                i = j + 1
    return len(sids), streamed, missing


def database(kind: str) -> tuple[str, Any]:
    """(SQLAlchemy URL, cleanup) for a fresh database of that kind."""
    if kind == "sqlite":
        return "", lambda: None
    import psycopg
    name = f"mt_load_{secrets.token_hex(5)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def run_class(args: argparse.Namespace, students: int) -> dict:
    from app.main import create_app
    from sandbox import KernelPool
    from tutor.settings import load_settings
    from tutor.solver.backends.replay import ReplayBackend, load_trajectories
    from tutor.store import Store
    from tutor.store.passwords import make_hasher
    from tutor.tutoring.service import TutorService

    tmp = Path(tempfile.mkdtemp(prefix="mt-load-"))
    url, drop = database(args.store)
    base = load_settings()
    sandbox = dataclasses.replace(base.sandbox, max_kernels=args.max_kernels, idle_timeout_s=args.kernel_idle_s)
    settings = load_settings(data_dir=tmp, backend="replay", database_url=url, web_max_concurrent_turns=args.concurrency,
                             web_asks_per_minute=0, web_hints_per_minute=0, web_submits_per_minute=0, sandbox=sandbox,
                             store_sqlite_synchronous=args.sqlite_synchronous)
    store = Store(settings.effective_database_url, hasher=make_hasher(time_cost=1, memory_kib=1024, parallelism=1))
    store.upgrade()
    cls = store.create_class("load", allow_solve_mode=True)
    for n in range(students):
        store.enroll(cls.id, store.create_user(f"student{n:03d}", "student", password=PASSWORD).id)
    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    trajs = [t for t in load_trajectories(args.data) if "```python" in t.text]
    problems = []
    for row in rows[:40]:   # the teacher's assignment: worked solutions are the keys
        p = store.create_problem(row["question"], reference_answer=str(row["gt"]), reference_solution=row["gt_cot"])
        store.assign(cls.id, problem_id=p.id)
        problems.append((p.id, str(row["gt"])))
    backend = ReplayBackend(trajs, delay_s=args.delay_ms / 1000)
    pool = KernelPool(settings.sandbox, tmp / "kernels").start()
    service = TutorService.from_settings(settings, store=store, backend=backend, pool=pool)
    app = create_app(settings, service=service, store=store, pool=pool)
    server, thread, base_url = serve(app)
    cfg = {"think": args.think, "ramp": args.ramp, "solve_share": args.solve_share,
           "questions": [t.question for t in trajs[:400]], "problems": problems}
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=clients, args=(base_url, cfg, students, args.duration, args.seed, child))
    start = time.monotonic()
    sampler = Sampler() if args.profile else None
    if sampler:
        sampler.__enter__()
    proc.start()
    child.close()
    actions = [Action(**d) for d in parent.recv()]
    proc.join(timeout=60)
    if sampler:
        sampler.__exit__()
        print("\n".join(["where action threads spent their time (sampled):"] + sampler.report()), file=sys.stderr,
              flush=True)
    elapsed = time.monotonic() - start
    health = pool.health()
    kernels = dict(health["kernels"], start_failures=len(health["start_failures"]))
    sessions, streamed, missing = store_check(store, actions)
    server.should_exit = True
    thread.join(timeout=30)
    service.close()
    pool.close()
    store.close()
    drop()

    errors = Counter(code for a in actions for code in a.errors)
    added = [a.added_s for a in actions if not a.kind.startswith("start") and a.status == 200]
    first = [a.added_s for a in actions if a.kind == "start_solve" and a.status == 200 and a.rounds]
    tutor_start = [a.wall_s for a in actions if a.kind == "start_tutor" and a.status == 200]
    result = {
        "students": students, "store": args.store, "duration_s": round(elapsed, 1), "turns": len(actions),
        "errors": sum(errors.values()) + sum(missing.values()), "errors_by_code": dict(errors),
        "added_p50_ms": round(pct(added, 50) * 1000, 1), "added_p95_ms": round(pct(added, 95) * 1000, 1),
        "first_turn_p95_ms": round(pct(first, 95) * 1000, 1),
        "tutor_start_p95_ms": round(pct(tutor_start, 95) * 1000, 1),
        "waited_in_line": dict(Counter(w for a in actions for w in set(a.waited))),
        "by_kind": dict(Counter(a.kind for a in actions)),
        "added_p95_ms_by_kind": {k: round(pct([a.added_s for a in actions if a.kind == k and a.status == 200], 95) * 1000, 1)
                                 for k in sorted({a.kind for a in actions})},
        "sessions": sessions, "events_checked": streamed, "events_missing": dict(missing), "kernels_at_end": kernels,
    }
    result["ok"] = result["errors"] == 0 and bool(added) and result["added_p95_ms"] < args.target_ms
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", default="200", help="class size, or sizes to try (comma-separated, ascending)")
    ap.add_argument("--duration", type=float, default=120.0, help="seconds during which students act")
    ap.add_argument("--think", default="20,60", help="think time between a student's actions: MIN,MAX seconds")
    ap.add_argument("--ramp", type=float, default=None, help="seconds over which students join (default: --think MAX)")
    ap.add_argument("--solve-share", type=float, default=0.25, help="share of sessions in solve mode (the rest tutoring)")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--sqlite-synchronous", default="FULL", help="SQLite synchronous pragma (FULL: the default setting)")
    ap.add_argument("--concurrency", type=int, default=8, help="web_max_concurrent_turns (model slots)")
    ap.add_argument("--delay-ms", type=float, default=2.0, help="replay delay per token (a fast GPU ~ 2 ms)")
    ap.add_argument("--max-kernels", type=int, default=96, help="sandbox max_kernels")
    ap.add_argument("--kernel-idle-s", type=float, default=90.0, help="sandbox idle_timeout_s (a kernel's session idle)")
    ap.add_argument("--target-ms", type=float, default=100.0, help="p95 added latency a class size must stay under")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="sample where the server's action threads spend time")
    ap.add_argument("--json", action="store_true", help="print one JSON object (the largest size run)")
    args = ap.parse_args()
    lo, hi = (float(x) for x in args.think.split(","))
    args.think = (lo, hi)
    args.ramp = hi if args.ramp is None else args.ramp
    import os
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    sizes = [int(x) for x in args.students.split(",")]
    results = []
    for n in sizes:
        if not args.json:
            print(f"load_students: {n} students for {args.duration:g} s (think {lo:g}-{hi:g} s, ramp {args.ramp:g} s, "
                  f"{args.solve_share:.0%} solve sessions), store {args.store}, replay {args.delay_ms:g} ms/token, "
                  f"{args.concurrency} model slots, real kernels; a shared machine: figures are noisy", flush=True)
        r = run_class(args, n)
        results.append(r)
        if not args.json:
            print(f"  {r['turns']} actions {r['by_kind']}, errors {r['errors']} {r['errors_by_code'] or ''}; added per action "
                  f"p50 {r['added_p50_ms']} ms, p95 {r['added_p95_ms']} ms; first solve turn p95 {r['first_turn_p95_ms']} ms; "
                  f"tutor start p95 {r['tutor_start_p95_ms']} ms; added p95 by kind {r['added_p95_ms_by_kind']}; waited in line {r['waited_in_line'] or 'never'}; "
                  f"store: {r['sessions']} sessions, {r['events_checked']} events checked, {r['events_missing']} missing; "
                  f"{'OK' if r['ok'] else 'NOT OK'}", flush=True)
    passed = [r["students"] for r in results if r["ok"]]
    out = {k: results[-1][k] for k in ("students", "turns", "errors", "added_p95_ms", "first_turn_p95_ms")}
    out.update(max_class_ok=max(passed) if passed else 0, store=args.store, runs=results)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"load_students_{args.store}.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out) if args.json else f"max class size OK ({args.store}): {out['max_class_ok']}")
    if any(r["events_missing"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
