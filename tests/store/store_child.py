"""Child process for the store's concurrency and crash tests (run as a script, not collected).

    store_child.py concurrent URL THREADS EVENTS SHARED_ID SESSION_ID...   append EVENTS to each own
        session and EVENTS//4 to the shared one from THREADS threads; print JSON stats at the end
    store_child.py crash URL SESSION_ID     append the events of endless turns, printing each committed seq
"""

from __future__ import annotations

import json
import sys
import threading
import time

from tutor.events import CodeOutput, Done, FinalAnswer, RoundText
from tutor.store import Store
from tutor.store.passwords import make_hasher


def concurrent(url: str, threads: int, events: int, shared: int, sessions: list[int]) -> None:
    # busy timeout 0: every lock conflict surfaces at once, so only the retry with backoff saves the write
    # few connections: PostgreSQL is shared with other test runs (max_connections); writers queue for them
    store = Store(url, hasher=make_hasher(1, 1024, 1), sqlite_busy_ms=0, pool_size=4, max_overflow=4)
    errors: list[str] = []
    barrier = threading.Barrier(threads)

    def writer(index: int, session_id: int) -> None:
        barrier.wait()
        try:
            for i in range(events):
                store.append(session_id, RoundText(text=f"writer {session_id} round {i}", round=i, tokens_out=i))
                if i % 4 == 0:
                    store.append(shared, {"kind": "note", "writer": session_id, "i": i})
        except Exception as exc:  # reported to the parent, which fails the test
            errors.append(f"{type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=writer, args=(n, sid)) for n, sid in enumerate(sessions)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(json.dumps({"errors": errors, "retries": store.retries}), flush=True)
    store.close()


def crash(url: str, session_id: int) -> None:
    store = Store(url, hasher=make_hasher(1, 1024, 1))
    store.resume_session(session_id)  # this process now owns the session, as the server would
    print("owner", store.owner, flush=True)
    turn = 0
    while True:
        turn += 1
        for event in (RoundText(text=f"turn {turn}: let me compute\n```python\nprint({turn}*2)\n```", round=0,
                                tokens_in=10, tokens_out=5),
                      CodeOutput(code=f"print({turn}*2)", stdout=f"{turn * 2}\n", stderr="", error=None,
                                 timed_out=False, restarted=False, duration_s=0.01, observation=str(turn * 2), round=0),
                      RoundText(text=f"so the answer is \\boxed{{{turn * 2}}}", round=1, tokens_in=20, tokens_out=6),
                      FinalAnswer(answer=str(turn * 2)),
                      Done(rounds=2, tokens_in=30, tokens_out=11, seconds=0.05)):
            record = store.append(session_id, event, turn=turn)
            print("committed", record.seq, record.kind, turn, flush=True)
            time.sleep(0.002)


if __name__ == "__main__":
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "concurrent":
        concurrent(url, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), [int(x) for x in sys.argv[6:]])
    elif mode == "crash":
        crash(url, int(sys.argv[3]))
    else:
        raise SystemExit(f"unknown mode {mode}")
