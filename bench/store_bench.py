"""Store benchmark: sustained appended events per second and p50/p95 append latency on SQLite and
PostgreSQL with 1 and 32 concurrent writers (threads of one process, as in the app), each writer on its
own session with a realistic mix of events (round text, code output, hint, attempt). The baseline, measured
in the same run, is the bare driver doing one INSERT + COMMIT per row into a one-table database
(same file sync / same server), so the ratio shows what the store adds on top of the database itself.

    .venv/bin/python bench/store_bench.py [--seconds 5] [--writers 1,32] [--backends sqlite,postgresql]

Figures on a shared 2-core machine are noisy; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tutor.events import AttemptChecked, CodeOutput, HintGiven, RoundText  # noqa: E402
from tutor.store import Store  # noqa: E402
from tutor.store.passwords import make_hasher  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def _events(i: int):
    mix = (RoundText(text=f"Round {i}: let us compute the discriminant.\n```python\nprint(b**2-4*a*c)\n```",
                     round=i % 4, tokens_in=900, tokens_out=120, seconds=1.2),
           CodeOutput(code="print(b**2-4*a*c)", stdout="17\n", stderr="", error=None, timed_out=False,
                      restarted=False, duration_s=0.03, observation="17", round=i % 4),
           HintGiven(step=1 + i % 3, level=1 + i % 4, text="What does the discriminant tell you?", steps=3),
           AttemptChecked(attempt_kind="answer", verdict="incorrect", feedback="Not yet.", input=f"x = {i}"))
    return mix[i % len(mix)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_store(url: str, writers: int, seconds: float, synchronous: str) -> dict:
    store = Store(url, hasher=make_hasher(1, 1024, 1), pool_size=max(5, writers), max_overflow=writers,
                  sqlite_synchronous=synchronous)
    store.upgrade()
    learner = store.create_user(f"bench{secrets.token_hex(3)}", "student")
    sessions = [store.create_session(learner.id, question=f"q{n}").id for n in range(writers)]
    latencies: list[list[float]] = [[] for _ in range(writers)]
    errors: list[str] = []
    barrier = threading.Barrier(writers + 1)
    stop = threading.Event()

    def writer(n: int) -> None:
        barrier.wait()
        i = 0
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                store.append(sessions[n], _events(i))
            except Exception as exc:  # counted and printed, never silently dropped
                errors.append(repr(exc))
            latencies[n].append(time.perf_counter() - t0)
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    stored = sum(len(store.events(sid)) for sid in sessions)
    flat = [x for lst in latencies for x in lst]
    retries = store.retries
    store.close()
    return {"events": len(flat), "stored": stored, "errors": len(errors), "retries": retries,
            "events_per_s": len(flat) / elapsed, "p50_ms": 1000 * statistics.median(flat) if flat else float("nan"),
            "p95_ms": 1000 * _percentile(flat, 0.95)}


def run_baseline(kind: str, target: str, seconds: float, synchronous: str = "FULL") -> float:
    """Rows/s of a bare INSERT + COMMIT loop (SQLite: WAL and the same synchronous pragma as the store)."""
    if kind == "sqlite":
        import sqlite3
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        execute = conn.execute
    else:
        import psycopg
        conn = psycopg.connect(target, autocommit=True)
        execute = conn.execute
    execute("CREATE TABLE baseline (id INTEGER PRIMARY KEY, body TEXT)" if kind == "sqlite"
            else "CREATE TABLE baseline (id SERIAL PRIMARY KEY, body TEXT)")
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        execute("BEGIN")
        execute("INSERT INTO baseline (body) VALUES (" + ("?" if kind == "sqlite" else "%s") + ")", ("x" * 200,))
        execute("COMMIT")
        count += 1
    rate = count / (time.perf_counter() - start)
    conn.close()
    return rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--writers", default="1,32")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--sqlite-synchronous", default="FULL", choices=("OFF", "NORMAL", "FULL", "EXTRA"),
                    help="SQLite synchronous pragma for the store and its baseline (the store's default: FULL)")
    args = ap.parse_args()
    writer_counts = [int(x) for x in args.writers.split(",")]
    print(f"store benchmark: {args.seconds:.0f} s per run, writers {writer_counts} (threads, one session each), "
          f"SQLite synchronous={args.sqlite_synchronous}")
    print(f"{'backend':<11}{'writers':>8}{'events/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'vs bare':>9}"
          f"{'stored':>9}{'lost':>6}{'errors':>7}{'retries':>8}")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            created: list[str] = []
            try:
                if backend == "sqlite":
                    base_rate = run_baseline("sqlite", str(Path(tmp) / "baseline.db"), args.seconds,
                                             args.sqlite_synchronous)
                    urls = {w: f"sqlite:///{Path(tmp) / f'store{w}.db'}" for w in writer_counts}
                else:
                    import psycopg
                    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                        for name in ["baseline"] + [str(w) for w in writer_counts]:
                            db = f"mt_bench_{secrets.token_hex(4)}_{name}"
                            admin.execute(f'CREATE DATABASE "{db}"')
                            created.append(db)
                    base_rate = run_baseline("postgresql", PG_ADMIN.replace("dbname=postgres", f"dbname={created[0]}"),
                                             args.seconds)
                    urls = {w: f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
                            for w, db in zip(writer_counts, created[1:])}
                print(f"{backend:<11}{'bare':>8}{base_rate:>11.0f}{'':>9}{'':>9}{1.0:>9.2f}")
                for w in writer_counts:
                    r = run_store(urls[w], w, args.seconds, args.sqlite_synchronous)
                    lost = r["events"] - r["stored"]
                    failures += lost != 0 or r["errors"] != 0
                    print(f"{backend:<11}{w:>8}{r['events_per_s']:>11.0f}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}"
                          f"{r['events_per_s'] / base_rate:>9.2f}{r['stored']:>9}{lost:>6}{r['errors']:>7}{r['retries']:>8}")
            except Exception as exc:  # e.g. PostgreSQL not reachable: say so and go on
                print(f"{backend:<11} skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            finally:
                if created:
                    import psycopg
                    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                        for db in created:
                            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
