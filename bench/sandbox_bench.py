"""Sandbox benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/sandbox_bench.py [--runs 200] [--seconds 5] [--sessions 1,8,32] [--no-fidelity]

Cold kernel start, warm-pool acquire, warm round trip of a small SymPy solve (p50/p95), sustained
cells/s at 1, 8 and 32 concurrent sessions, memory per idle kernel, all against the naive baseline
evaluation harnesses use (a fresh `python -c` subprocess per cell that imports sympy), measured in
the same run. Hardening figures: time from a forged reply to the kernel's replacement, CPU burned
after a cell by what it left behind, and the largest write each mount accepts. Figures on a shared
2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import KernelPool, SandboxConfig, procfs  # noqa: E402
from sandbox.kernel import Kernel  # noqa: E402

SETUP = "from sympy import symbols, solve\nx = symbols('x')"
CELL = "solve(x**2 - 5*x + 6, x)"
BASELINE = "from sympy import symbols, solve\nx = symbols('x')\nprint(solve(x**2 - 5*x + 6, x))"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def ms(v: float) -> str:
    return f"{v * 1000:.2f} ms"


def baseline(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - t)
        assert out.strip() == "[2, 3]", out
    return times


def kernel_memory(kernel: Kernel) -> tuple[int, int]:
    """(RSS, PSS) in KiB over every process of the kernel's sandbox."""
    rss = pss = 0
    todo = [kernel.proc.pid]
    while todo:
        pid = todo.pop()
        todo.extend(procfs.children(pid))
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


FORGED_REPLY = """
import time
k = get_ipython().kernel
p = k.get_parent("shell")
k.session.send(k.shell_stream, "execute_reply", {"status": "ok", "execution_count": 1, "user_expressions": {}},
               parent=p, ident=k._parent_ident["shell"])
k.session.send(k.iopub_socket, "status", {"execution_state": "idle"}, parent=p, ident=k._topic("status"))
while True:
    pass
"""
NO_REAPER = ("ip = get_ipython()\nfor cb in list(ip.events.callbacks['post_execute']):\n"
             "    ip.events.unregister('post_execute', cb)\n")
FILL = """
import os
def fill(d):
    total = 0
    for i in range(64):
        try:
            with open(f'{d}/fill{i}', 'wb') as f:
                for _ in range(16):
                    total += f.write(b'x' * (1 << 20))
                    f.flush()
        except OSError:
            return total
    return total
print({d: fill(d) for d in ['/', '/dev', '/dev/shm', '/tmp', '/kernel', '/kernel/ipc', '/opt/venv', '/opt/venv/bin']})
"""


def sandbox_cpu(pids: list[int]) -> float:
    return sum(procfs.cpu_seconds(p) for p in pids)


def hardening(pool: KernelPool, timeout: float = 2.0) -> None:
    s = pool.acquire("hard-forge")
    s.run("1")
    t = time.perf_counter()
    r = s.run(FORGED_REPLY, timeout=timeout)
    took = time.perf_counter() - t
    print(f"forged execute_reply+idle at cell start, then spinning (cell timeout {timeout:g} s): kernel replaced "
          f"after {took:.2f} s (the host's deadline; {took - timeout:.3f} s past it), restarted={r.restarted}")
    pool.release("hard-forge")

    s = pool.acquire("hard-cpu")
    s.run(NO_REAPER + "import subprocess\nps = [subprocess.Popen(['sh', '-c', 'while :; do :; done']) for _ in range(2)]")
    pid = s._kernel.pid
    before = sandbox_cpu([pid])
    time.sleep(1.0)
    print(f"CPU burned in 1 s after a cell that left 2 spinning processes (its reaper switched off): "
          f"{sandbox_cpu([pid]) - before:.3f} s (processes left: {len(procfs.descendants(pid))})")
    s.run("1")
    pid = s._kernel.pid
    r = s.run("import threading\ndef spin():\n    while True:\n        pass\n"
              "threading.Thread(target=spin, daemon=True).start()")
    gone = not procfs.state(pid) or procfs.state(pid) in ("Z", "X")
    print(f"cell that left a spinning thread: kernel replaced={r.restarted}, its process gone on return={gone}")
    pool.release("hard-cpu")

    s = pool.acquire("hard-fill")
    r = s.run(FILL, timeout=60)
    sizes = ast.literal_eval(r.stdout.strip()) if r.stdout.strip() else {}
    print("largest write accepted per mount: " + ", ".join(f"{d} {n / (1 << 20):.0f} MiB" for d, n in sizes.items()))
    pool.release("hard-fill")


def throughput(pool: KernelPool, n: int, seconds: float) -> float:
    sessions = [pool.acquire(f"tp{n}-{i}") for i in range(n)]
    for s in sessions:
        assert s.run(SETUP).ok
    counts = [0] * n
    stop = time.monotonic() + seconds

    def work(i: int) -> None:
        while time.monotonic() < stop:
            r = sessions[i].run(CELL)
            assert r.results == ["[2, 3]"], r
            counts[i] += 1

    t = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    for i in range(n):
        pool.release(f"tp{n}-{i}")
    return sum(counts) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200, help="warm round trips to time (>= 50)")
    ap.add_argument("--baseline-runs", type=int, default=10)
    ap.add_argument("--cold", type=int, default=5, help="cold starts to time")
    ap.add_argument("--acquires", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    ap.add_argument("--sessions", default="1,8,32")
    ap.add_argument("--no-fidelity", action="store_true")
    args = ap.parse_args()
    levels = [int(n) for n in args.sessions.split(",")]

    config = SandboxConfig(warm_kernels=1, max_kernels=max(levels) + 4)
    with tempfile.TemporaryDirectory(prefix="sbx-bench-") as tmp, KernelPool(config, Path(tmp)) as pool:
        layers = pool.health()["layers"]
        print("layers: " + ", ".join(f"{n}={'on' if l['active'] else 'OFF'}" for n, l in layers.items()))

        cold = []
        for _ in range(args.cold):
            t = time.perf_counter()
            k = pool._new_kernel()
            cold.append(time.perf_counter() - t)
            k.kill()
        print(f"cold start to ready (bwrap + python + sympy import + handshake), n={len(cold)}: "
              f"p50 {ms(pct(cold, 50))}, max {ms(max(cold))}")

        hardening(pool)

        acquire = []
        for i in range(args.acquires):
            deadline = time.monotonic() + 60
            while pool.health()["kernels"]["warm"] < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            t = time.perf_counter()
            pool.acquire(f"acq-{i}")
            acquire.append(time.perf_counter() - t)
            pool.release(f"acq-{i}")
        print(f"acquire from warm pool, n={len(acquire)}: p50 {ms(pct(acquire, 50))}, max {ms(max(acquire))}")

        s = pool.acquire("rt")
        assert s.run(SETUP).ok
        for _ in range(5):
            s.run(CELL)
        rt = []
        for _ in range(args.runs):
            t = time.perf_counter()
            r = s.run(CELL)
            rt.append(time.perf_counter() - t)
            assert r.results == ["[2, 3]"], r
        trivial = []
        for _ in range(args.runs):
            t = time.perf_counter()
            s.run("1+1")
            trivial.append(time.perf_counter() - t)
        rss, pss = kernel_memory(s._kernel)
        pool.release("rt")
        p50 = pct(rt, 50)
        print(f"warm round trip `{CELL}`, n={len(rt)}: p50 {ms(p50)}, p95 {ms(pct(rt, 95))}, "
              f"mean {ms(statistics.mean(rt))}")
        print(f"warm round trip `1+1` (protocol overhead), n={len(trivial)}: p50 {ms(pct(trivial, 50))}, "
              f"p95 {ms(pct(trivial, 95))}")
        print(f"memory per idle kernel (all sandbox processes): RSS {rss / 1024:.1f} MiB, PSS {pss / 1024:.1f} MiB")

        base = baseline(args.baseline_runs)
        bp50 = pct(base, 50)
        print(f"baseline `python -c` + import sympy per cell, n={len(base)}: p50 {ms(bp50)}, max {ms(max(base))}")
        print(f"speed-up per cell (baseline p50 / warm p50): {bp50 / p50:.0f}x")

        base_rate = 1 / statistics.mean(base)
        for n in levels:
            rate = throughput(pool, n, args.seconds)
            print(f"sustained cells/s with {n:2d} concurrent sessions: {rate:8.1f}  "
                  f"(baseline, one at a time: {base_rate:.1f}/s; {rate / base_rate:.0f}x)")

        if not args.no_fidelity:
            from bench.sandbox_fidelity import CORPUS, run_fidelity
            if CORPUS.exists():
                print(run_fidelity(pool).text())


if __name__ == "__main__":
    main()
