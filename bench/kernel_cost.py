"""Where a sandbox kernel's start time and memory go.

Stages, each timed on its own (wall and CPU seconds, median of --runs):
  interpreter     `python -I -c pass` on the host (the same interpreter the kernels run)
  ipykernel       importing ipykernel's kernel app on the host (what every kernel imports to speak Jupyter)
  sympy           importing SymPy on the host (the preload that makes a warm kernel answer fast)
  kernel (bare)   a real sandboxed start without preload: bwrap + namespaces + seccomp + interpreter +
                  ipykernel + the handshake (kernel_info answered on shell and iopub)
  kernel (sympy)  the same with SymPy preloaded, as the pool starts them
  handshake       of which the host waited for the kernel_info answers (after the sockets existed)
The sandbox's own share is `kernel (bare)` minus interpreter and ipykernel. Memory per idle warm kernel
comes from /proc/PID/smaps_rollup of the kernel process (and its bwrap init): RSS, PSS (shared pages split
among the processes sharing them) and private (what killing it gives back).

    .venv/bin/python bench/kernel_cost.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def host_run(code: str, runs: int) -> dict:
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-I", "-c", code], check=True)
        walls.append(time.monotonic() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    import os
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_of(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        out[name] = int(value.split()[0]) / 1024   # MiB
    return {"rss_mib": out["Rss"], "pss_mib": out["Pss"],
            "private_mib": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)}


def kernel_starts(preload: tuple[str, ...], runs: int) -> dict:
    import dataclasses

    from sandbox import KernelPool
    from sandbox.kernel import Kernel
    from tutor.settings import load_settings

    config = dataclasses.replace(load_settings().sandbox, warm_kernels=0, max_warm_kernels=0, preload=preload)
    handshakes: list[float] = []
    original = Kernel._handshake

    def timed(self, deadline):   # how long the host waits for the kernel_info answers
        t0 = time.monotonic()
        try:
            return original(self, deadline)
        finally:
            handshakes.append(time.monotonic() - t0)

    Kernel._handshake = timed
    walls, cpus, mems, kernels = [], [], [], []
    try:
        with KernelPool(config, Path(tempfile.mkdtemp(prefix="mt-kcost-"))) as pool:
            handshakes.clear()   # the self-check's probe kernel is not counted
            for _ in range(runs):
                t0 = time.monotonic()
                k = pool._new_kernel()
                walls.append(time.monotonic() - t0)
                kernels.append(k)
                time.sleep(0.5)   # idle, as a warm kernel waits
                cpus.append(cpu_of(k.pid) + cpu_of(k.proc.pid))
                m = memory_of(k.pid)
                init = memory_of(k.proc.pid)
                mems.append({key: m[key] + init[key] for key in m})
            for k in kernels:
                k.kill()
    finally:
        Kernel._handshake = original
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
            "handshake_s": statistics.median(handshakes) if handshakes else None,
            **{key: statistics.median(m[key] for m in mems) for key in mems[0]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {
        "interpreter": host_run("pass", args.runs),
        "ipykernel": host_run("import ipykernel.kernelapp", args.runs),
        "sympy": host_run("import sympy", args.runs),
        "kernel_bare": kernel_starts((), args.runs),
        "kernel_sympy": kernel_starts(("sympy",), args.runs),
    }
    for name in ("ipykernel", "sympy"):   # each import's own share, the interpreter's start taken off
        for key in ("wall_s", "cpu_s"):
            out[name][key] = max(0.0, out[name][key] - out["interpreter"][key])
    bare = out["kernel_bare"]
    out["sandbox_overhead"] = {key: max(0.0, bare[key] - out["interpreter"][key] - out["ipykernel"][key])
                               for key in ("wall_s", "cpu_s")}
    if args.json:
        print(json.dumps(out))
        return
    print("kernel start, median of", args.runs, "(a shared machine: figures are noisy)")
    for name in ("interpreter", "ipykernel", "sympy", "sandbox_overhead"):
        print(f"  {name:17s} wall {out[name]['wall_s'] * 1000:7.0f} ms   cpu {out[name]['cpu_s'] * 1000:7.0f} ms")
    for name in ("kernel_bare", "kernel_sympy"):
        k = out[name]
        print(f"  {name:17s} wall {k['wall_s'] * 1000:7.0f} ms   cpu {k['cpu_s'] * 1000:7.0f} ms   handshake "
              f"{(k['handshake_s'] or 0) * 1000:5.0f} ms   idle memory: RSS {k['rss_mib']:.0f} MiB, PSS {k['pss_mib']:.0f} MiB, "
              f"private {k['private_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
