"""One confined ipykernel process and the host end of its ZMQ channels (jupyter_client's Session
protocol over the ipc transport), with the per-cell execute loop.

The per-cell path is one message out and a zmq poll over the kernel's sockets: no process spawns,
no sleeps. The host trusts nothing the kernel sends: replies to other requests are ignored,
messages are size-capped by libzmq, output is capped here, and a lost connection kills the kernel.
A cell ends on the host's terms: besides its reply, the kernel must answer a request of the host's
own queued behind the cell before the deadline (a forged reply does not end it); then the kernel is
stopped (SIGSTOP) until the next cell, whatever the cell left behind is killed, and threads it
started get the kernel replaced.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import zmq
from jupyter_client.session import Session
from zmq.utils.monitor import recv_monitor_message

from sandbox import procfs
from sandbox.cgroup import KernelCgroup
from sandbox.config import SandboxConfig
from sandbox.errors import SandboxError
from sandbox.cell import Cell
from sandbox.jail import KERNEL_DIR, KERNEL_IPC, Jail
from sandbox.result import CellError, CellResult

PORTS = {"shell": 1, "iopub": 2, "stdin": 3, "control": 4, "hb": 5}
_BOOT_SOURCE = (Path(__file__).parent / "boot.py").read_bytes()
# bwrap's and the kernel's own stderr go to an anonymous in-memory file of this fixed size (sealed
# against growth): never on the data disk, bounded whatever the kernel writes to it.
LOG_BYTES = 256 << 10


class Kernel:
    """Start with `start()`; `execute()` runs one cell; `kill()` ends it. Not thread-safe by
    itself: its session serialises calls."""

    def __init__(self, jail: Jail, config: SandboxConfig, run_dir: Path, ctx: zmq.Context) -> None:
        self.jail, self.config, self.ctx = jail, config, ctx
        self.id = secrets.token_hex(6)
        self.started_at = self.last_used = time.monotonic()
        self.proc = None
        self.pid = 0                      # host pid of the kernel process (pid 1 inside)
        self.log = -1                     # memfd holding bwrap's and the kernel's stderr
        self.threads: set[int] = set()    # the kernel's own threads once it answered
        self.cgroup: KernelCgroup | None = None
        self.sockets: dict[str, zmq.Socket] = {}
        self.monitors: list[zmq.Socket] = []
        self.poller = zmq.Poller()
        self.session = Session(key=secrets.token_hex(32).encode(), signature_scheme="hmac-sha256", username="host",
                               check_pid=False)
        self.lost = ""      # why the connection is unusable, once it is
        self.dead = False

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Spawn, connect, handshake; on any failure clean up what was started and raise SandboxError."""
        try:
            self._start()
        except BaseException:
            self.kill()
            raise

    def _start(self) -> None:
        c, jail = self.config, self.jail
        conn = json.dumps(dict(transport="ipc", ip=f"{KERNEL_IPC}/k", key=self.session.key.decode(),
                               signature_scheme="hmac-sha256", kernel_name="sandbox",
                               **{f"{k}_port": v for k, v in PORTS.items()})).encode()
        if jail.cgroups.available:
            self.cgroup = jail.cgroups.create(f"k{self.id}", c.cgroup_memory_mb << 20, c.max_processes, c.cpu_quota)
        mb = 1 << 20
        boot_arg = json.dumps({
            "connection_file": f"{KERNEL_DIR}/conn.json",
            "preload": list(c.preload),
            "max_output": c.max_output_bytes,
            "after_start_bpf": base64.b64encode(jail.after_start_bpf).decode() if jail.after_start_bpf else "",
            "rlimits": {"RLIMIT_AS": c.memory_mb * mb, "RLIMIT_NPROC": c.max_processes, "RLIMIT_CPU": c.cpu_seconds,
                        "RLIMIT_FSIZE": c.file_size_mb * mb, "RLIMIT_NOFILE": c.open_files, "RLIMIT_CORE": 0},
        })
        self.log = _bounded_log()
        try:
            self.proc, self.pid = jail.spawn(conn, _BOOT_SOURCE, boot_arg, self.cgroup, self.log)
        except OSError as exc:
            raise SandboxError(f"kernel did not start: {exc}: {self._stderr_tail()}") from exc
        deadline = time.monotonic() + c.start_timeout_s
        # The sockets are on the sandbox's own tmpfs: reached through the kernel's root, so no host
        # directory is bound in (its path would show in the kernel's mountinfo).
        ipc = Path(f"/proc/{self.pid}/root{KERNEL_IPC}")
        paths = {name: ipc / f"k-{port}" for name, port in PORTS.items()}
        while not all(p.exists() for p in paths.values()):   # startup only: wait for the five binds
            if self.proc.poll() is not None:
                raise SandboxError(f"kernel exited during start (status {self.proc.returncode}): {self._stderr_tail()}")
            if time.monotonic() > deadline:
                raise SandboxError(f"kernel did not start within {c.start_timeout_s} s: {self._stderr_tail()}")
            time.sleep(0.005)
        self._lock_dir(ipc)
        for name, ztype in (("shell", zmq.DEALER), ("iopub", zmq.SUB), ("control", zmq.DEALER)):
            sock, mon = self._connect(ztype, paths[name], deadline)
            self.sockets[name] = sock
            if name == "control":
                sock.disable_monitor()
                mon.close(linger=0)
                continue
            self.monitors.append(mon)
            self.poller.register(sock, zmq.POLLIN)
            self.poller.register(mon, zmq.POLLIN)
        self.sockets["iopub"].setsockopt(zmq.SUBSCRIBE, b"")
        self._handshake(deadline)
        self.threads = procfs.threads(self.pid)

    def _lock_dir(self, ipc: Path) -> None:
        """Once its sockets exist the kernel may not change the directory (seccomp denies it chmod
        after start), and each socket is checked by lstat before the one and only connect."""
        os.chmod(ipc, 0o500)
        for port in PORTS.values():
            st = os.lstat(ipc / f"k-{port}")
            if not stat.S_ISSOCK(st.st_mode) or st.st_uid != self.jail.kernel_uid:
                raise SandboxError("kernel directory was tampered with (socket path is not the kernel's socket)")

    def _connect(self, ztype: int, path: Path, deadline: float) -> tuple[zmq.Socket, zmq.Socket]:
        """Connect once, for good: no automatic reconnects, so a path the kernel swaps later is never
        followed. The socket file appears at bind(), a moment before listen(), so a refused first
        attempt is retried here with a fresh socket until the connection is confirmed."""
        while True:
            s = self.ctx.socket(ztype)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RECONNECT_IVL, -1)
            s.setsockopt(zmq.MAXMSGSIZE, self.config.max_message_bytes)
            # At most RCVHWM messages of at most MAXMSGSIZE wait in the host, whatever the kernel sends.
            s.setsockopt(zmq.RCVHWM, 32)
            mon = s.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED)
            s.connect(f"ipc://{path}")
            if mon.poll(200) and recv_monitor_message(mon)["event"] == zmq.EVENT_CONNECTED:
                return s, mon
            s.disable_monitor()
            mon.close(linger=0)
            s.close(linger=0)
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SandboxError(f"could not connect to the kernel's {path.name} socket: {self._stderr_tail()}")
            time.sleep(0.01)   # start-up only

    def _handshake(self, deadline: float) -> None:
        """kernel_info until both its reply and an iopub message for it arrive (SUB joins late)."""
        while True:
            msg_id = self.session.send(self.sockets["shell"], "kernel_info_request")["header"]["msg_id"]
            got_reply = got_iopub = False
            until = min(deadline, time.monotonic() + 0.5)
            while time.monotonic() < until and not (got_reply and got_iopub):
                for sock, _ in self.poller.poll(max(1, int((until - time.monotonic()) * 1000))):
                    if sock in self.monitors:
                        if recv_monitor_message(sock)["event"] != zmq.EVENT_CONNECTED:
                            raise SandboxError(f"kernel dropped its connection during start: {self._stderr_tail()}")
                        continue
                    msg = self._recv(sock)
                    if msg and msg["parent_header"].get("msg_id") == msg_id:
                        got_reply |= sock is self.sockets["shell"]
                        got_iopub |= sock is self.sockets["iopub"]
            if got_reply and got_iopub:
                return
            if self.proc.poll() is not None:
                raise SandboxError(f"kernel exited during start (status {self.proc.returncode}): {self._stderr_tail()}")
            if time.monotonic() >= deadline:
                raise SandboxError(f"kernel did not answer within {self.config.start_timeout_s} s: "
                                   f"{self._stderr_tail()}")

    def _stderr_tail(self) -> str:
        """What the kernel (or bwrap) wrote to stderr so far, for start-up error messages."""
        try:
            end = min(os.lseek(self.log, 0, os.SEEK_CUR), LOG_BYTES)
            data = os.pread(self.log, 1500, max(0, end - 1500))[: max(0, min(end, 1500))]
        except OSError:
            data = b""
        return data.decode(errors="replace").strip() or "(no output)"

    def alive(self) -> bool:
        return not self.dead and not self.lost and self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the sandbox (its pid namespace goes with it), close sockets, remove its files."""
        self.dead = True
        for s in self.sockets.values():
            try:
                s.disable_monitor()
            except zmq.ZMQError:
                pass
        for s in [*self.monitors, *self.sockets.values()]:
            s.close(linger=0)
        self.monitors, self.sockets = [], {}
        if self.proc is not None:
            if self.proc.poll() is None:
                # Kill the sandbox's init first so the outer bwrap reaps it; killing the outer one
                # first would orphan the init to the host's pid 1, which may never reap it.
                for pid in procfs.children(self.proc.pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    self.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:   # a process we cannot reap must not stop cleanup
                pass
        if self.log >= 0:
            os.close(self.log)
            self.log = -1
        if self.cgroup is not None and self.cgroup.remove():
            self.cgroup = None

    # --- execution -------------------------------------------------------------------------
    def _recv(self, sock: zmq.Socket) -> dict | None:
        try:
            _, msg = self.session.recv(sock, mode=zmq.NOBLOCK)
            return msg
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
            return None   # unsigned, replayed or malformed: not from the kernel we started, or forged

    def interrupt(self) -> None:
        if "control" in self.sockets:
            self.session.send(self.sockets["control"], "interrupt_request")

    def execute(self, code: str, timeout: float, cancel: threading.Event | None = None) -> tuple[CellResult, bool]:
        """Run one cell. Returns (result, needs_kill): needs_kill when the kernel did not come back
        after an interrupt, its connection broke, or something of the cell would outlive it, so the
        caller replaces it (`self.lost` says why). A set `cancel` (the user's Stop) interrupts the cell
        as the time limit does; the result then carries a `Stopped` error instead of a timeout."""
        c = self.config
        start = time.monotonic()
        self.last_used = start
        cell = Cell(cap=c.max_output_bytes)
        procfs.resume(self.pid)   # stopped since its last cell
        shell = self.sockets["shell"]
        msg_id = self.session.send(shell, "execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": False})["header"]["msg_id"]
        # A request of the host's own, queued behind the cell: the kernel answers it only once the
        # cell really ended. A cell can forge its reply and idle with the kernel's key; it cannot
        # answer this without reading its own shell socket.
        ping = self.session.send(shell, "kernel_info_request")["header"]["msg_id"]
        deadline = start + timeout
        interrupted_at = ended_at = None
        stopped = synced = False
        while not (cell.idle and cell.replied and synced):
            now = time.monotonic()
            if cell.idle and cell.replied:   # the kernel says the cell ended; the ping proves it
                ended_at = ended_at or now
                limit = max(deadline if interrupted_at is None else interrupted_at + c.interrupt_grace_s,
                            ended_at + c.interrupt_grace_s)
                if now >= limit:
                    self.lost = "reported completion but kept running"
                    return self._failed(cell, start, timed_out=True,
                                        why=f"Cell reported completion but kept running past {timeout:g} s; the "
                                            "kernel was killed and replaced (variables are lost)"), True
            else:
                # a Stop waits for the cell to start: an interrupt before that is lost, and the cell would run on
                stop = cancel is not None and cancel.is_set() and cell.started
                if interrupted_at is None and (now >= deadline or stop):
                    stopped = now < deadline
                    self.interrupt()
                    interrupted_at = now
                limit = interrupted_at + c.interrupt_grace_s if interrupted_at is not None else deadline
                if now >= limit:
                    return self._failed(cell, start, timed_out=not stopped,
                                        etype="Stopped" if stopped else "TimeoutError",
                                        why=("Stopped; the cell ignored the interrupt, so" if stopped else
                                             f"Cell exceeded {timeout:g} s and ignored the interrupt;") +
                                            " the kernel was killed and replaced (variables are lost)"), True
            # Wake at least once a second to notice a kernel that died without closing sockets (ten
            # times a second while a Stop may come).
            events = self.poller.poll(max(1, min(int((limit - now) * 1000) + 1, 1000 if cancel is None else 100)))
            if not events and self.proc.poll() is not None:
                self.lost = f"kernel exited with status {self.proc.returncode}"
            for sock, _ in events:
                if sock in self.monitors:
                    if recv_monitor_message(sock)["event"] != zmq.EVENT_CONNECTED:
                        self.lost = self.lost or "connection lost"
                    continue
                while (m := self._recv(sock)) is not None:
                    parent = m.get("parent_header", {}).get("msg_id")
                    if parent == msg_id:
                        cell.take(m, sock is shell)
                    elif parent == ping and sock is shell:
                        synced = True
            if self.lost:
                if self.proc.poll() is None:
                    why = ("The kernel sent a message larger than the limit "
                           f"({c.max_message_bytes} bytes) or broke its connection; it was killed and replaced")
                else:
                    why = f"The kernel died (exit status {self.proc.returncode}); its state was lost"
                return self._failed(cell, start, timed_out=False, why=why, etype="KernelDied"), True
        timed_out = interrupted_at is not None and not stopped
        if timed_out:
            cell.error = CellError("TimeoutError", f"Cell exceeded {timeout:g} s and was interrupted", "")
        elif stopped:
            cell.error = CellError("Stopped", "Stopped before the cell finished (it was interrupted)", "")
        left = self._park()
        self.last_used = time.monotonic()
        if left:
            self.lost = left
            cell.truncated = False   # the note below is the host's, not the cell's output
            cell.stderr.append(f"\n[the kernel was replaced because {left}; variables are lost]\n")
            return cell.result(timed_out=timed_out, restarted=True, duration_s=self.last_used - start), True
        return cell.result(timed_out=timed_out, duration_s=self.last_used - start), False

    def _park(self) -> str:
        """Between cells nothing of the kernel may run: stop it until the next cell, kill every
        process the cell left, and report threads it started (they cannot be killed one by one)."""
        if not procfs.stop(self.pid, self.config.interrupt_grace_s):
            return "it could not be stopped between cells"
        procfs.kill_descendants(self.pid)   # the kernel is stopped: nothing can start new ones
        extra = procfs.threads(self.pid) - self.threads
        return f"the cell left {len(extra)} thread(s) running" if extra else ""

    def _failed(self, cell: Cell, start: float, *, timed_out: bool, why: str, etype: str = "TimeoutError") -> CellResult:
        cell.error = CellError(etype, why, "")
        return cell.result(timed_out=timed_out, restarted=True, duration_s=time.monotonic() - start)


def _bounded_log() -> int:
    fd = os.memfd_create("mathtutor-kernel-log", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, LOG_BYTES)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
    return fd


