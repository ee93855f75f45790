"""Per-kernel cgroups capping resident memory, process count and CPU share of everything a kernel
starts.

cgroup v2 is used when its memory controller can be delegated to us; otherwise the v1 memory
(and pids) hierarchies when they are writable (as root in many containers); otherwise the layer
reports itself unavailable and the pool decides (setting `allow_missing`) whether that is fatal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
GROUP = "mathtutor-sandbox"


@dataclass
class KernelCgroup:
    dirs: list[Path] = field(default_factory=list)

    @property
    def procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in self.dirs]

    def memory_peak(self) -> int | None:
        for d in self.dirs:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                try:
                    return int((d / name).read_text())
                except (OSError, ValueError):
                    continue
        return None

    def remove(self) -> bool:
        """rmdir each group; False while some process in it has not been reaped yet."""
        ok = True
        for d in self.dirs:
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                ok = False
        return ok


class Cgroups:
    """Finds a writable hierarchy once; `create()` makes one capped group per kernel."""

    def __init__(self, kernels: int = 16) -> None:
        # v2 group scheduling weighs our parent group like ONE process against everything else on
        # the machine; weighted for `kernels` processes, each kernel competes like a process would.
        self.kernels = max(1, kernels)
        self.version: str | None = None
        self.reason = ""
        self._parents: dict[str, Path] = {}   # controller -> our parent group
        try:
            self._detect()
        except OSError as exc:
            self.version, self.reason = None, f"cgroups not writable: {exc}"

    @property
    def available(self) -> bool:
        return self.version is not None

    @property
    def has_cpu(self) -> bool:
        return "cpu" in self._parents

    def describe(self) -> str:
        if not self.available:
            return self.reason
        return f"cgroup {self.version} ({', '.join(sorted(self._parents))}) under {next(iter(self._parents.values()))}"

    def _own(self, controller: str) -> str | None:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, path = line.split(":", 2)
            if (controller == "" and ctrls == "") or controller in ctrls.split(","):
                return path
        return None

    def _detect(self) -> None:
        controllers = ROOT / "cgroup.controllers"
        if controllers.exists() and "memory" in controllers.read_text().split():
            own = ROOT / (self._own("") or "/").lstrip("/")
            parent = own / GROUP
            parent.mkdir(exist_ok=True)
            wanted = [c for c in ("memory", "pids", "cpu") if c in (own / "cgroup.controllers").read_text().split()]
            (own / "cgroup.subtree_control").write_text(" ".join("+" + c for c in wanted))
            (parent / "cgroup.subtree_control").write_text(" ".join("+" + c for c in wanted))
            self.version, self._parents = "v2", {c: parent for c in wanted}
            if "cpu" in wanted:
                _try_write(parent / "cpu.weight", str(min(10_000, 100 * self.kernels)))
            return
        if (ROOT / "memory" / "memory.limit_in_bytes").exists():
            for ctrl in ("memory", "pids", "cpu"):
                own = self._own(ctrl)
                if own is None or not (ROOT / ctrl).is_dir() or (ctrl == "cpu" and not (ROOT / ctrl / "cpu.cfs_quota_us").exists()):
                    continue
                # cpu groups sit beside the app's own group, not under a shared parent: group
                # scheduling weighs a parent like ONE process, each kernel should weigh like one.
                parent = ROOT / ctrl / own.lstrip("/") / (GROUP if ctrl != "cpu" else "")
                parent.mkdir(exist_ok=True)
                if not os.access(parent, os.W_OK):
                    raise PermissionError(f"{parent} is not writable")
                self._parents[ctrl] = parent
            if "memory" in self._parents:
                self.version = "v1"
                return
        self.reason = "no writable cgroup memory controller (neither a delegated v2 subtree nor v1 memory)"

    def create(self, name: str, memory_bytes: int, max_pids: int, cpus: float = 0.0) -> KernelCgroup:
        """`cpus` > 0 caps the group's CPU use at that many CPUs (a quota per 100 ms period)."""
        group = KernelCgroup()
        period = 100_000
        quota = max(1000, int(cpus * period)) if cpus > 0 else None
        try:
            if self.version == "v2":
                d = self._parents["memory"] / name
                d.mkdir()
                group.dirs.append(d)
                (d / "memory.max").write_text(str(memory_bytes))
                _try_write(d / "memory.swap.max", "0")
                _try_write(d / "pids.max", str(max_pids))
                if quota and self.has_cpu:
                    (d / "cpu.max").write_text(f"{quota} {period}")
            else:
                d = self._parents["memory"] / name
                d.mkdir()
                group.dirs.append(d)
                (d / "memory.limit_in_bytes").write_text(str(memory_bytes))
                _try_write(d / "memory.memsw.limit_in_bytes", str(memory_bytes))
                if "pids" in self._parents:
                    p = self._parents["pids"] / name
                    p.mkdir()
                    group.dirs.append(p)
                    (p / "pids.max").write_text(str(max_pids))
                if quota and self.has_cpu:
                    q = self._parents["cpu"] / f"{GROUP}-{name}"
                    q.mkdir()
                    group.dirs.append(q)
                    (q / "cpu.cfs_period_us").write_text(str(period))
                    (q / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError:
            group.remove()
            raise
        return group


def _try_write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass   # optional knob (no swap accounting, no pids controller): the memory cap still holds
