"""Replica benchmark: how fast sessions move between app replicas, and how long a replica that never
held a session takes to rebuild its kernel from the recorded cells.

Two TutorService instances on one database stand for two app replicas: each has its own kernels (from
one sandbox pool, keys namespaced per service) and its own in-memory sessions, and they meet only in
the store, as two `mathtutor serve` processes do (tests/replicas/ runs those as real processes). The
model is scripted (instant), so the figures are the app tier's own cost.

1. Moves: S solve sessions are started on replica A; then every session takes R actions, each on the
   other replica than the last (a load balancer without sticky routing), each action one model turn
   with one cell. A moved action takes the database lock, notices the other replica's events, folds the
   session again and rebuilds the kernel by replaying every cell so far. Baseline: the same actions
   all on replica A (no move). The same again for sessions that never run code (a move is then the lock,
   the claim and folding the session again; each replica keeps the empty kernel it took once).
2. Rebuild: a session with 1, 10 and 50 recorded cells; a replica that never saw it acquires its
   kernel (a started kernel from the warm pool, then the replay), and the replay alone.

    .venv/bin/python bench/replicas_bench.py [--sessions 8] [--rounds 3] [--backend postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import KernelPool  # noqa: E402
from tutor.events import CodeOutput  # noqa: E402
from tutor.settings import load_settings  # noqa: E402
from tutor.solver.backends import ScriptedBackend  # noqa: E402
from tutor.store import Store  # noqa: E402
from tutor.store.passwords import make_hasher  # noqa: E402
from tutor.tutoring.replay import replay_cells  # noqa: E402
from tutor.tutoring.service import TutorService  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def model(prompt: str) -> str:
    """Solve mode in one cell per turn: `step N` adds N to v (the first turn sets it)."""
    latest = prompt.rsplit("User:", 1)[-1].split("\n\nAssistant:", 1)[0]
    if "```output" in prompt.rsplit("Assistant:", 1)[-1]:
        return "So $v$ is $\\boxed{v}$."
    if "no code" in latest:
        return "Nothing to compute: $\\boxed{1}$."
    n = latest.split("step ", 1)[1].split()[0] if "step " in latest else None
    code = f"v = v + {n}\nprint(v)" if n else "v = 0\nprint(v)"
    return f"Let me compute.\n```python\n{code}\n```\n```output\n"


def wait_warm(pool: KernelPool, deadline_s: float = 60.0) -> None:
    """A started kernel is waiting in the pool (what a replica that is not overloaded has)."""
    end = time.monotonic() + deadline_s
    while pool.health()["kernels"]["warm"] < 1 and time.monotonic() < end:
        time.sleep(0.05)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(url: str, sessions: int, rounds: int, tmp: Path) -> None:
    store = Store(url, hasher=make_hasher(1, 1024, 1))
    store.upgrade()
    base = load_settings(data_dir=str(tmp), backend="scripted")
    sandbox = dataclasses.replace(base.sandbox, warm_kernels=2, max_kernels=max(16, 2 * sessions + 4))
    settings = load_settings(data_dir=str(tmp), backend="scripted", sandbox=sandbox)
    pool = KernelPool(sandbox, tmp / "kernels")
    pool.start()
    replicas = [TutorService(settings, store=store, backend=ScriptedBackend(default=model), pool=pool)
                for _ in range(3)]
    try:
        user = store.create_user(f"bench-{secrets.token_hex(3)}", "student")
        cls = store.create_class(f"bench-{secrets.token_hex(3)}", allow_solve_mode=True)
        store.enroll(cls.id, user.id)
        a, b, fresh = replicas

        def started(on: TutorService, code: bool) -> int:
            question = "Set v to 0." if code else "Say hello, no code."
            return list(on.start_session(user.id, question=question, mode="solve"))[0].session_id

        def act(on: TutorService, sid: int, n: int, code: bool) -> float:
            t = time.perf_counter()
            events = list(on.ask(user.id, sid, f"Now step {n} please." if code else "Just say it, no code."))
            seconds = time.perf_counter() - t
            outs = [e for e in events if e.kind == "output"]
            if code and (not outs or outs[-1].stdout.strip() != str(n * (n + 1) // 2)):
                raise SystemExit(f"wrong kernel state after a move: {[e.to_dict() for e in events][-4:]}")
            if not [e for e in events if e.kind == "done"]:
                raise SystemExit(f"the action did not finish: {[e.to_dict() for e in events][-4:]}")
            return seconds

        cases = (("stay, one cell each", False, True), ("move, one cell each", True, True),
                 ("stay, no code", False, False), ("move, no code", True, False))
        for label, moving, code in cases:
            ids = [started(a, code) for _ in range(sessions)]
            times: list[float] = []
            t0 = time.perf_counter()
            for n in range(1, rounds + 1):
                on = (b if n % 2 else a) if moving else a
                times.extend(act(on, sid, n, code) for sid in ids)
            total = time.perf_counter() - t0
            print(f"{label:<22}{len(times):>8}{len(times) / total:>12.2f}{statistics.median(times):>10.3f}"
                  f"{pct(times, 0.95):>10.3f}")
            for sid in ids:
                for r in replicas:
                    r.kernels.release(sid)

        print(f"\n{'recorded cells':<16}{'acquire s (warm kernel + replay)':>34}{'replay only s':>15}{'per cell ms':>13}{'mismatches':>12}")
        for cells in (1, 10, 50):
            sid = store.create_session(user.id, mode="solve", question=f"{cells} cells").id
            v = 0
            for i in range(1, cells + 1):
                v += i
                store.append(sid, CodeOutput(code=f"v{i} = {v}\nv = v{i}\nprint(v)" if i > 1 else "v = 1\nprint(v)",
                                             stdout=f"{v}\n", stderr="", error=None, timed_out=False, restarted=False,
                                             duration_s=0.01, observation=str(v), round=0))
            records = store.code_cells(sid, include_private=False)
            acquire, replay, mismatches = [], [], 0
            for _ in range(3):
                wait_warm(pool)
                t = time.perf_counter()
                fresh.kernels.acquire(sid)          # a kernel new to this replica: started, then replayed
                acquire.append(time.perf_counter() - t)
                fresh.kernels.release(sid)
                warm = pool.acquire(f"bench-warm-{secrets.token_hex(4)}")
                warm.run("pass")
                report = replay_cells(warm, records)
                replay.append(report.seconds)
                mismatches += len(report.mismatches)
                pool.release(warm.key)
            print(f"{cells:<16}{statistics.median(acquire):>34.3f}{statistics.median(replay):>15.3f}"
                  f"{1000 * statistics.median(replay) / cells:>13.1f}{mismatches:>12}")
    finally:
        for r in replicas:
            r.close()
        pool.close()
        store.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", default="postgresql", choices=("postgresql", "sqlite"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="replicas-bench-") as tmp:
        if args.backend == "sqlite":
            url, created = f"sqlite:///{Path(tmp) / 'store.db'}", None
        else:
            import psycopg
            created = f"mt_bench_{secrets.token_hex(4)}_replicas"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{created}"')
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{created}"
        print(f"{args.backend}: {args.sessions} sessions, {args.rounds} actions each\n")
        print(f"{'actions':<22}{'count':>8}{'actions/s':>12}{'p50 s':>10}{'p95 s':>10}")
        try:
            run(url, args.sessions, args.rounds, Path(tmp))
        finally:
            if created:
                import psycopg
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
