"""How one kernel process is confined: the bubblewrap command line, the seccomp programs, the
unprivileged user and the cgroup, and the probe that says which of those layers this machine has.

Nothing of the host's layout is visible inside: the interpreter and the virtualenv are read-only
overlays at fixed paths (`/opt/python`, `/opt/venv`), so `/proc/self/mountinfo` names neither their
host paths nor the run directory; the connection file and bootstrap are copied in by bwrap; the
sockets live on a tmpfs of the sandbox that the host reaches through `/proc/PID/root`.
"""

from __future__ import annotations

import json
import os
import platform
import pwd
import select
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sandbox import seccomp
from sandbox.cgroup import Cgroups, KernelCgroup
from sandbox.config import SandboxConfig

KERNEL_DIR = "/kernel"            # inside the sandbox: read-only, connection file and bootstrap
KERNEL_IPC = "/kernel/ipc"        # inside the sandbox: a tiny tmpfs, ipc sockets only
VENV = "/opt/venv"                # inside: the virtualenv, away from the app's own directory
PYTHON = "/opt/python"            # inside: the interpreter's installation, unless it is a system one
HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
STAGE = "/mnt"                    # private tmpfs in a throw-away mount namespace: overlay sources
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")   # bound read-only, public
IPC_BYTES = 64 << 10              # sockets take no blocks; the size only bounds a misbehaving kernel
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


def _is_system(path: str) -> bool:
    """Inside a tree the jail binds anyway at its own path (a distribution's Python in /usr)."""
    parts = Path(path).parts
    return len(parts) > 1 and parts[1] in SYSTEM_DIRS


def _hidden_in_venv(venv: str) -> list[str]:
    """Files of the virtualenv that would name the app's directory inside (an editable install's
    finder and .pth, its direct_url.json, egg-links): covered with an empty file in the sandbox."""
    found = []
    for lib in ("lib", "lib64"):
        if Path(venv, lib).is_symlink():   # lib64 -> lib: the same files
            continue
        for site in Path(venv, lib).glob("python*/site-packages"):
            if site.is_symlink() or not site.is_dir():
                continue
            for entry in os.scandir(site):
                path = Path(entry.path)
                if entry.name.startswith("__editable__") or entry.name.endswith(".egg-link"):
                    found.append(path)
                elif entry.name.endswith(".pth") and entry.is_file():
                    try:
                        if any(line.startswith("/") for line in path.read_text(errors="replace").splitlines()):
                            found.append(path)
                    except OSError:
                        continue
                elif entry.name.endswith(".dist-info") and (path / "direct_url.json").is_file():
                    found.append(path / "direct_url.json")
            cache = site / "__pycache__"
            if cache.is_dir():
                found += [p for p in cache.glob("__editable__*") if p.is_file()]
    return sorted(f"{VENV}/{p.relative_to(venv)}" for p in found)


def _pipe_with(data: bytes) -> int:
    """A readable fd holding `data` to EOF, for bwrap's --ro-bind-data/--seccomp."""
    r, w = os.pipe()
    try:
        os.write(w, data)   # a few KiB at most, well under the pipe buffer
    finally:
        os.close(w)
    return r


class Jail:
    """Probes the machine once, then builds and spawns confined kernel processes."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.base = os.path.realpath(sys.base_prefix)
        self.venv = os.path.realpath(sys.prefix) if sys.prefix != sys.base_prefix else None
        # The interpreter's own installation is overlaid at /opt/python (a distribution's Python
        # in /usr is public anyway and keeps its path); a virtualenv at /opt/venv, whose bin/ is
        # replaced by one link to that interpreter and whose pyvenv.cfg points there.
        self.base_inside = self.base if _is_system(self.base) else PYTHON
        exe = os.path.realpath(sys.executable)
        rel = os.path.relpath(exe, self.base)
        self.interpreter = f"{self.base_inside}/{rel}"
        self.interpreter_ok = not rel.startswith("..")
        self.python = f"{VENV}/bin/python3" if self.venv else self.interpreter
        self.hidden = _hidden_in_venv(self.venv) if self.venv else []
        self.pyvenv_cfg = (f"home = {os.path.dirname(self.interpreter)}\ninclude-system-site-packages = false\n"
                           f"version = {platform.python_version()}\n").encode()
        self.overlays = [(p, inside) for p, inside in ((self.base, PYTHON), (self.venv, VENV))
                         if p and not (inside == PYTHON and self.base_inside == self.base)]
        self.bwrap = shutil.which(config.bwrap) or ""
        self.root = os.geteuid() == 0
        self.uid = self.gid = None
        self.bpf: bytes | None = None
        self.after_start_bpf: bytes | None = None
        self.cgroups = Cgroups(config.max_kernels)
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
        tools = [t for t in ("unshare", "mount") if not shutil.which(t, path=HOST_PATH)]
        ns_ok = bool(self.bwrap) and not tools and self.interpreter_ok
        ns_detail = ("user, pid, net (loopback only), ipc, uts, cgroup, mount; --die-with-parent --new-session "
                     "--clearenv; nested user namespaces disabled; host paths hidden (interpreter and virtualenv "
                     "as overlays at /opt/python, /opt/venv; read-only / and /dev)")
        if not self.bwrap:
            ns_detail = "needs bwrap"
        elif tools:
            ns_detail = f"{' and '.join(tools)} (util-linux, mount) not found on {HOST_PATH}"
        elif not self.interpreter_ok:
            ns_detail = f"interpreter {sys.executable} is not inside its installation {self.base}"
        self.layers["namespaces"] = Layer("namespaces", ns_ok, ns_detail)
        try:
            self.bpf = seccomp.build_bpf()
            self.after_start_bpf = seccomp.build_after_start_bpf()
            self.layers["seccomp"] = Layer("seccomp", True, f"{len(self.bpf)} byte BPF: deny inet/packet/raw sockets, "
                                           "ptrace, mount, unshare/setns, bpf, keyctl, io_uring, namespace clone; "
                                           "chmod after start (both built on the host)")
        except Exception as exc:  # ImportError, OSError from libseccomp: report, let the pool decide
            self.bpf = self.after_start_bpf = None
            self.layers["seccomp"] = Layer("seccomp", False, f"cannot build filter: {exc}")
        self.layers["rlimits"] = Layer("rlimits", True, (
            f"AS {c.memory_mb} MiB, NPROC {c.max_processes}, CPU {c.cpu_seconds} s, FSIZE {c.file_size_mb} MiB, "
            f"NOFILE {c.open_files}, CORE 0; writable mounts only /tmp {c.tmp_size_mb} MiB, "
            f"/dev/shm {c.shm_size_mb} MiB, /kernel/ipc {IPC_BYTES >> 10} KiB"))
        self.layers["cgroup"] = Layer("cgroup", self.cgroups.available,
                                      (self.cgroups.describe() + f"; memory {c.cgroup_memory_mb} MiB, "
                                       f"pids {c.max_processes}" + (f", cpu {c.cpu_quota:g} CPU" if
                                                                   self.cgroups.has_cpu and c.cpu_quota else ""))
                                      if self.cgroups.available else self.cgroups.reason)
        if self.root:
            try:
                pw = pwd.getpwnam(c.kernel_user)
                self.uid, self.gid = pw.pw_uid, pw.pw_gid
                ok = self.uid != 0 and bool(shutil.which("setpriv", path=HOST_PATH))
                detail = (f"kernels run as {c.kernel_user} (uid {self.uid})" if ok else
                          f"{c.kernel_user} is uid 0 or setpriv (util-linux) missing")
            except KeyError:
                ok, detail = False, f"app runs as root and user {c.kernel_user!r} does not exist (create it: .ci/setup)"
            self.layers["unprivileged_user"] = Layer("unprivileged_user", ok, detail)
        else:
            self.layers["unprivileged_user"] = Layer("unprivileged_user", True,
                                                     f"app is not root: kernels run as uid {os.geteuid()} in a user namespace")

    def host_paths(self) -> dict[str, str]:
        """Host directories whose names must not show inside (the self-check looks for them)."""
        paths = {"python_prefix": self.base, "home": os.path.expanduser("~")}
        if self.venv:
            paths["venv"] = self.venv
        return {k: v for k, v in paths.items() if v and v != "/" and not _is_system(v)}

    def missing(self) -> list[str]:
        return [name for name, layer in self.layers.items() if not layer.active]

    @property
    def kernel_uid(self) -> int:
        """The host uid the kernel's processes and files have."""
        return self.uid if self._dropped else os.geteuid()

    @property
    def _dropped(self) -> bool:
        return self.root and self.uid is not None and self.layers["unprivileged_user"].active

    # --- spawning --------------------------------------------------------------------------
    def spawn(self, conn: bytes, boot: bytes, boot_arg: str, cgroup: KernelCgroup | None,
              log: int) -> tuple[subprocess.Popen, int]:
        """Start the confined kernel with `conn` as /kernel/conn.json and `boot` as /kernel/boot.py;
        its stderr goes to the file descriptor `log` (never a pipe nobody drains). Returns the
        process (the outer bwrap) and the host pid of the kernel itself."""
        return self._spawner.submit(self._spawn, conn, boot, boot_arg, cgroup, log).result()

    def _argv(self, fds: dict[str, int], info_fd: int) -> list[str]:
        c = self.config
        uid = self.uid if self._dropped else os.geteuid()
        gid = self.gid if self._dropped else os.getegid()
        argv = [self.bwrap, "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session", "--clearenv",
                # The kernel itself is pid 1: bwrap then waits on it directly, so a kernel that dies
                # on its own is reaped by bwrap instead of orphaning a reaper to the host's init.
                "--as-pid-1", "--info-fd", str(info_fd),
                "--hostname", "sandbox", "--uid", str(uid), "--gid", str(gid)]
        for top in SYSTEM_DIRS:
            host = Path("/") / top
            if host.is_symlink():
                argv += ["--symlink", os.readlink(host), f"/{top}"]
            elif host.is_dir():
                argv += ["--ro-bind", str(host), f"/{top}"]
        for i, (_, inside) in enumerate(self.overlays):
            argv += ["--ro-bind", f"{STAGE}/o{i}", inside]
        if self.venv:
            argv += ["--size", "4096", "--tmpfs", f"{VENV}/bin", "--symlink", self.interpreter, f"{VENV}/bin/python3",
                     "--remount-ro", f"{VENV}/bin", "--ro-bind-data", str(fds["pyvenv"]), f"{VENV}/pyvenv.cfg"]
            for path in self.hidden:
                argv += ["--ro-bind", f"{STAGE}/empty", path]
        # Every writable mount has a size; / and /dev are read-only once set up.
        argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(c.shm_size_mb << 20), "--tmpfs", "/dev/shm",
                 "--remount-ro", "/dev", "--size", str(c.tmp_size_mb << 20), "--tmpfs", "/tmp",
                 "--perms", "0400", "--ro-bind-data", str(fds["conn"]), f"{KERNEL_DIR}/conn.json",
                 "--perms", "0444", "--ro-bind-data", str(fds["boot"]), f"{KERNEL_DIR}/boot.py",
                 "--size", str(IPC_BYTES), "--perms", "0700", "--tmpfs", KERNEL_IPC,
                 "--remount-ro", "/", "--chdir", "/tmp"]
        env = dict(KERNEL_ENV)
        if self.base_inside == PYTHON:
            env["LD_LIBRARY_PATH"] = f"{PYTHON}/lib"   # a shared libpython's RUNPATH names the host path
        for k, v in env.items():
            argv += ["--setenv", k, v]
        if "seccomp" in fds:
            argv += ["--seccomp", str(fds["seccomp"])]
        return argv

    def _spawn(self, conn: bytes, boot: bytes, boot_arg: str, cgroup: KernelCgroup | None,
               log: int) -> tuple[subprocess.Popen, int]:
        fds = {"conn": _pipe_with(conn), "boot": _pipe_with(boot)}
        if self.venv:
            fds["pyvenv"] = _pipe_with(self.pyvenv_cfg)
        if self.bpf is not None:
            fds["seccomp"] = _pipe_with(self.bpf)
        info_r, info_w = os.pipe()
        try:
            argv = self._argv(fds, info_w) + ["--", self.python, "-I", f"{KERNEL_DIR}/boot.py", boot_arg]
            # Overlays, not bind mounts: a bind mount shows its host source path in mountinfo.
            stage = f"mount -t tmpfs -o size=64k,mode=755 mathtutor-stage {STAGE} && mkdir {STAGE}/e && : > {STAGE}/empty && "
            for i, (host, _) in enumerate(self.overlays):
                stage += (f"mkdir {STAGE}/l{i} {STAGE}/o{i} && mount --bind {shlex.quote(host)} {STAGE}/l{i} && "
                          f"mount -t overlay mathtutor -o ro,lowerdir={STAGE}/l{i}:{STAGE}/e {STAGE}/o{i} && ")
            if self._dropped:
                stage += (f"exec setpriv --reuid {self.uid} --regid {self.gid} --clear-groups --inh-caps=-all "
                          f"--bounding-set=-all -- ")
            else:
                stage += "exec "
            # Root stages in a private mount namespace; anyone else in a user namespace of their own.
            unshare = ["unshare"] + ([] if self.root else ["--user", "--map-root-user"]) + [
                "--mount", "--propagation", "private", "sh", "-c", stage + shlex.join(argv)]
            procs = [str(p) for p in cgroup.procs_files] if cgroup else []
            script = "".join(f"echo $$ > {shlex.quote(p)} && " for p in procs) + "exec " + shlex.join(unshare)
            # bwrap's own environment is readable from inside (/proc/1/environ): give it none of ours.
            proc = subprocess.Popen(["sh", "-c", script], pass_fds=[*fds.values(), info_w], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=log, close_fds=True, env={"PATH": HOST_PATH})
        finally:
            for fd in [*fds.values(), info_w]:
                os.close(fd)
        try:
            return proc, _read_child_pid(info_r, proc, self.config.start_timeout_s)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            os.close(info_r)


def _read_child_pid(fd: int, proc: subprocess.Popen, timeout: float) -> int:
    """bwrap's --info-fd JSON: the host pid of the sandbox's first process (the kernel)."""
    data, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 4096)
            data += chunk
            try:
                return int(json.loads(data)["child-pid"])
            except (ValueError, KeyError, TypeError):
                if not chunk:
                    break
        elif proc.poll() is not None:
            break
    raise OSError(f"bubblewrap did not report its child (exit status {proc.poll()})")
