"""The host's own view of a kernel's processes through /proc: its threads, its descendants, stopping
and continuing it. What the kernel says about itself is never trusted; this is what it does.

The kernel is pid 1 of its pid namespace, so every process a cell starts is one of its descendants
(orphans are re-parented to it): walking the `children` lists of its threads finds them all.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    """Direct children of every thread of `pid` (a child belongs to the thread that forked it)."""
    found: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    if found or Path(f"/proc/{pid}/task/{pid}/children").exists():
        return found
    for entry in os.listdir("/proc"):   # kernels without CONFIG_PROC_CHILDREN: scan every process
        if entry.isdigit():
            try:
                if int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def state(pid: int | str) -> str:
    """One-letter state of a process or thread ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def descendants(pid: int) -> list[int]:
    """Every live (not yet reaped is fine, zombies excluded) process below `pid`."""
    out, todo = [], children(pid)
    while todo:
        p = todo.pop()
        if state(p) not in ("", "Z", "X"):
            out.append(p)
        todo += children(p)
    return out


def threads(pid: int) -> set[int]:
    try:
        return {int(t) for t in os.listdir(f"/proc/{pid}/task")}
    except OSError:
        return set()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its live descendants (threads included), in seconds."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def stop(pid: int, timeout: float = 0.5) -> bool:
    """SIGSTOP the kernel and wait until every thread of it has stopped, so that none is still
    between a fork and its stop when the caller lists the kernel's children (a thread created as
    the signal arrives stops too). False if it did not stop in time."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except OSError:
        return False
    deadline = time.monotonic() + timeout
    while True:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return False
        if all(state(f"{pid}/task/{t}") in ("T", "t", "Z", "X", "") for t in tids):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0002)


def resume(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGCONT)
    except OSError:
        pass


def kill_descendants(pid: int, rounds: int = 50) -> int:
    """SIGKILL everything below `pid` until nothing is left (a forking process may add children
    between a listing and its kill, hence rounds). Returns how many were killed."""
    killed = 0
    for _ in range(rounds):
        found = descendants(pid)
        if not found:
            return killed
        for p in found:
            try:
                os.kill(p, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.001)
    return killed
