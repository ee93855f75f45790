"""How one kernel process is confined: the bubblewrap command line, the seccomp program, the
unprivileged user and the cgroup, and the probe that says which of those layers this machine has.

Kernel-side paths are fixed (`/kernel` holds the connection file, `/kernel/ipc` the sockets) so
nothing of the host's layout except the interpreter's own prefix is visible inside.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sandbox import seccomp
from sandbox.cgroup import Cgroups, KernelCgroup
from sandbox.config import SandboxConfig

KERNEL_DIR = "/kernel"            # inside the sandbox: read-only, connection file
KERNEL_IPC = "/kernel/ipc"        # inside the sandbox: writable, ipc sockets only
VENV = "/opt/venv"                # inside: the virtualenv, away from the app's own directory
HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
STAGE = "/mnt"                    # root mode: private tmpfs in a throw-away mount namespace
# Environment of the kernel after --clearenv: nothing of the app's environment crosses.
KERNEL_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "IPYTHONDIR": "/tmp/.ipython",
    "MPLCONFIGDIR": "/tmp/.mpl",
    "MPLBACKEND": "Agg",
    "LANG": "C.UTF-8",
    "JUPYTER_PLATFORM_DIRS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class Layer:
    name: str
    active: bool
    detail: str

    def to_dict(self) -> dict:
        return {"active": self.active, "detail": self.detail}


class Jail:
    """Probes the machine once, then builds and spawns confined kernel processes."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        # The interpreter's installation is bound at its real path (the venv's python links to it);
        # a virtualenv is bound at /opt/venv so the app's directory does not even appear by name.
        self.base = os.path.realpath(sys.base_prefix)
        self.venv = os.path.realpath(sys.prefix) if sys.prefix != sys.base_prefix else None
        self.prefixes = [p for p in (self.base, self.venv) if p]
        self.python = (f"{VENV}/bin/{os.path.basename(sys.executable)}" if self.venv
                       else os.path.realpath(sys.executable))
        self.bwrap = shutil.which(config.bwrap) or ""
        self.root = os.geteuid() == 0
        self.uid = self.gid = None
        self.bpf: bytes | None = None
        self.cgroups = Cgroups()
        self.layers: dict[str, Layer] = {}
        # bwrap's --die-with-parent is PR_SET_PDEATHSIG, which fires when the *thread* that forked
        # exits; all spawns go through this one long-lived thread so no kernel dies with a caller.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="sandbox-spawn")
        self._probe()

    def close(self) -> None:
        self._spawner.shutdown(wait=False)

    # --- probing ---------------------------------------------------------------------------
    def _probe(self) -> None:
        c = self.config
        self.layers["bwrap"] = Layer("bwrap", bool(self.bwrap),
                                     self.bwrap or f"bubblewrap executable {c.bwrap!r} not found (Debian package bubblewrap)")
        self.layers["namespaces"] = Layer("namespaces", bool(self.bwrap),
                                          "user, pid, net (loopback only), ipc, uts, cgroup, mount; --die-with-parent "
                                          "--new-session --clearenv; nested user namespaces disabled" if self.bwrap
                                          else "needs bwrap")
        try:
            self.bpf = seccomp.build_bpf()
            self.layers["seccomp"] = Layer("seccomp", True, f"{len(self.bpf)} byte BPF: deny inet/packet/raw sockets, "
                                           "ptrace, mount, unshare/setns, bpf, keyctl, io_uring, namespace clone")
        except Exception as exc:  # ImportError, OSError from libseccomp: report, let the pool decide
            self.layers["seccomp"] = Layer("seccomp", False, f"cannot build filter: {exc}")
        self.layers["rlimits"] = Layer("rlimits", True, (
            f"AS {c.memory_mb} MiB, NPROC {c.max_processes}, CPU {c.cpu_seconds} s, FSIZE {c.file_size_mb} MiB, "
            f"NOFILE {c.open_files}, CORE 0; /tmp tmpfs {c.tmp_size_mb} MiB"))
        self.layers["cgroup"] = Layer("cgroup", self.cgroups.available,
                                      (self.cgroups.describe() + f"; memory {c.cgroup_memory_mb} MiB, pids {c.max_processes}")
                                      if self.cgroups.available else self.cgroups.reason)
        if self.root:
            try:
                pw = pwd.getpwnam(c.kernel_user)
                self.uid, self.gid = pw.pw_uid, pw.pw_gid
                ok = self.uid != 0 and bool(shutil.which("setpriv")) and bool(shutil.which("unshare"))
                detail = (f"kernels run as {c.kernel_user} (uid {self.uid})" if ok else
                          f"{c.kernel_user} is uid 0 or setpriv/unshare (util-linux) missing")
            except KeyError:
                ok, detail = False, f"app runs as root and user {c.kernel_user!r} does not exist (create it: .ci/setup)"
            self.layers["unprivileged_user"] = Layer("unprivileged_user", ok, detail)
        else:
            self.layers["unprivileged_user"] = Layer("unprivileged_user", True,
                                                     f"app is not root: kernels run as uid {os.geteuid()} in a user namespace")

    def missing(self) -> list[str]:
        return [name for name, layer in self.layers.items() if not layer.active]

    # --- spawning --------------------------------------------------------------------------
    def spawn(self, kdir: Path, boot: str, boot_arg: str, cgroup: KernelCgroup | None, log: int) -> subprocess.Popen:
        """Start the confined kernel; kdir holds conn.json, the bootstrap script named `boot` and the
        ipc/ socket directory; its stderr goes to the file descriptor `log` (a file, never a pipe
        nobody drains)."""
        return self._spawner.submit(self._spawn, kdir, boot, boot_arg, cgroup, log).result()

    def _spawn(self, kdir: Path, boot: str, boot_arg: str, cgroup: KernelCgroup | None, log: int) -> subprocess.Popen:
        c = self.config
        staged = self.root and self.uid is not None and self.layers["unprivileged_user"].active
        src = {p: (f"{STAGE}/p{i}" if staged else p) for i, p in enumerate(self.prefixes)}
        ksrc = f"{STAGE}/k" if staged else str(kdir)
        inner_uid = self.uid if staged else os.geteuid()
        inner_gid = self.gid if staged else os.getegid()
        argv = [self.bwrap, "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session", "--clearenv",
                # The kernel itself is pid 1: bwrap then waits on it directly, so a kernel that dies
                # on its own is reaped by bwrap instead of orphaning a reaper to the host's init.
                "--as-pid-1",
                "--hostname", "sandbox", "--uid", str(inner_uid), "--gid", str(inner_gid)]
        for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / top
            if host.is_symlink():
                argv += ["--symlink", os.readlink(host), f"/{top}"]
            elif host.is_dir():
                argv += ["--ro-bind", str(host), f"/{top}"]
        argv += ["--ro-bind", src[self.base], self.base]
        if self.venv:
            argv += ["--ro-bind", src[self.venv], VENV]
        argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(c.tmp_size_mb << 20), "--tmpfs", "/tmp",
                 "--ro-bind", ksrc, KERNEL_DIR, "--bind", f"{ksrc}/ipc", KERNEL_IPC, "--chdir", "/tmp"]
        for k, v in KERNEL_ENV.items():
            argv += ["--setenv", k, v]
        fds: list[int] = []
        if self.bpf is not None:
            fds.append(seccomp.bpf_pipe(self.bpf))
            argv += ["--seccomp", str(fds[0])]
        argv += ["--", self.python, "-I", f"{KERNEL_DIR}/{boot}", boot_arg]

        procs = [str(p) for p in cgroup.procs_files] if cgroup else []
        script = "".join(f"echo $$ > {shlex.quote(p)} && " for p in procs)
        if staged:
            script += f"mount -t tmpfs -o size=64k,mode=755 mathtutor-stage {STAGE} && "
            script += f"mkdir {STAGE}/k " + " ".join(shlex.quote(s) for s in src.values() if s != ksrc) + " && "
            for p in self.prefixes:
                script += f"mount --bind {shlex.quote(p)} {shlex.quote(src[p])} && "
            script += f"mount --bind {shlex.quote(str(kdir))} {STAGE}/k && "
            script += (f"exec setpriv --reuid {self.uid} --regid {self.gid} --clear-groups --inh-caps=-all "
                       f"--bounding-set=-all -- ")
            cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script + shlex.join(argv)]
        elif procs:
            cmd = ["sh", "-c", script + "exec " + shlex.join(argv)]
        else:
            cmd = argv
        try:
            # bwrap's own environment is readable from inside (/proc/1/environ): give it none of ours.
            return subprocess.Popen(cmd, pass_fds=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=log, close_fds=True, env={"PATH": HOST_PATH})
        finally:
            for fd in fds:
                os.close(fd)
