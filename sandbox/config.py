"""Limits and switches of the sandbox. Plain dataclass: `sandbox/` imports nothing of `tutor/`.

Each field's metadata["help"] documents it; tutor's settings loader reads them from
MATHTUTOR_SANDBOX_<FIELD> environment variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Isolation layers a deployment may explicitly run without (see `allow_missing`).
LAYERS = ("bwrap", "namespaces", "seccomp", "rlimits", "cgroup", "unprivileged_user")


def _opt(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class SandboxConfig:
    # --- per cell ---------------------------------------------------------------------------
    cell_timeout_s: float = _opt(10.0, "Default seconds a cell may run before it is interrupted.")
    interrupt_grace_s: float = _opt(1.0, "Seconds an interrupted cell gets to stop before its kernel is killed and replaced.")
    max_code_bytes: int = _opt(100_000, "Largest cell (UTF-8 bytes) accepted; bigger code gets an error result without running.")
    max_output_bytes: int = _opt(65_536, "Most stdout+stderr+result characters kept per cell; the rest is cut with a visible marker.")
    max_message_bytes: int = _opt(2 * 1024 * 1024, "Largest single ZMQ message accepted from a kernel; a bigger one drops the "
                                                   "connection and the kernel is replaced (bounds host memory under a flood).")
    # --- pool ---------------------------------------------------------------------------------
    warm_kernels: int = _opt(2, "Kernels kept started (with the preloaded modules imported) ready to hand to new sessions.")
    max_warm_kernels: int = _opt(8, "Most kernels kept warm when demand is high: the warm pool holds as many kernels as "
                                    "sessions took in the last `warm_horizon_s` at the last minute's rate, between "
                                    "`warm_kernels` and this.")
    warm_horizon_s: float = _opt(30.0, "Seconds of demand (sessions taking a kernel, at the last minute's rate) the warm pool covers.")
    refill_per_s: float = _opt(2.0, "Most kernel starts per second by the background refill (bounds the CPU starts take from cells).")
    refill_parallel: int = _opt(2, "Most kernels starting at once in the background.")
    kernel_wait_s: float = _opt(120.0, "Seconds a session waits in line for a kernel when none is warm before it is told the "
                                       "sandbox is busy (sessions are served in the order they asked).")
    max_running_cells: int = _opt(0, "Most cells running at once across all kernels (kernel CPU, a limit separate from the "
                                     "model's); 0: twice the number of CPUs. A cell waits its turn; its timeout starts when it runs.")
    max_kernels: int = _opt(16, "Cap on live kernel processes (warm + in use); past it `acquire` raises SandboxBusy.")
    idle_timeout_s: float = _opt(1800.0, "A session's kernel unused this long is killed; its next cell gets a fresh kernel.")
    max_lifetime_s: float = _opt(4 * 3600.0, "A kernel older than this is killed; its session's next cell gets a fresh kernel.")
    kills_before_cooldown: int = _opt(3, "Kills (timeouts, crashes) of one session within `kill_window_s` that start a cool-down.")
    kill_window_s: float = _opt(300.0, "Window in which kills of one session are counted.")
    cooldown_s: float = _opt(60.0, "Seconds a session that kept getting killed is refused (SandboxBusy).")
    start_timeout_s: float = _opt(30.0, "Seconds a kernel may take to start and answer before the start counts as failed.")
    preload: tuple[str, ...] = _opt(("sympy",), "Modules imported in every kernel before it joins the warm pool (comma-separated).")
    # --- isolation ----------------------------------------------------------------------------
    memory_mb: int = _opt(2048, "Address-space rlimit per kernel process in MiB: a too-large allocation raises MemoryError.")
    cgroup_memory_mb: int = _opt(2048, "Resident memory cap per kernel (all its processes) via a cgroup, where cgroups are writable.")
    max_processes: int = _opt(64, "Processes+threads per kernel (RLIMIT_NPROC inside its user namespace; cgroup pids.max too).")
    cpu_seconds: int = _opt(900, "CPU seconds per kernel over its whole life (RLIMIT_CPU); per-cell time is `cell_timeout_s`.")
    file_size_mb: int = _opt(16, "Largest file a kernel may write (RLIMIT_FSIZE), in MiB.")
    open_files: int = _opt(256, "Open file descriptors per kernel process (RLIMIT_NOFILE).")
    tmp_size_mb: int = _opt(64, "Size of each kernel's private tmpfs /tmp, in MiB.")
    shm_size_mb: int = _opt(16, "Size of each kernel's private tmpfs /dev/shm, in MiB (/ and /dev are read-only).")
    cpu_quota: float = _opt(1.0, "CPUs each kernel may use at once, all its processes together (cgroup cpu "
                                 "controller, where cgroups are writable); 0 leaves it unlimited.")
    kernel_user: str = _opt("mathtutor-kernel", "Unprivileged host user kernels run as when the app runs as root "
                                                "(created by .ci/setup); ignored when the app is not root.")
    allow_missing: tuple[str, ...] = _opt(("cgroup",), "Isolation layers the sandbox may run without (comma-separated, from: "
                                                       "seccomp, cgroup, unprivileged_user); any other missing layer refuses to "
                                                       "start. bwrap, namespaces and rlimits can never be waived.")
    bwrap: str = _opt("bwrap", "The bubblewrap executable.")
