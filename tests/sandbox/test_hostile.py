"""Hostile programs: each must get its specific safe outcome, leave the host untouched, and leave a
session (the same kernel or its fresh replacement) that still runs `print(1+1)` correctly."""

from __future__ import annotations

import hashlib
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from sandbox import CellResult

SECRET = "hostile-canary-7f3a9c"


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    check: Callable[[CellResult], bool]
    timeout: float = 3.0


def err(r: CellResult, *types: str) -> bool:
    return r.error is not None and r.error.type in types


def killed(r: CellResult) -> bool:
    return r.timed_out and r.restarted


def stopped(r: CellResult) -> bool:
    """Timed out: either interrupted (state kept) or killed and replaced."""
    return r.timed_out and r.error is not None


SPIN_CATCHING = """
while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass
"""
SPIN_IGNORING = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
SPIN_HANDLER = "import signal\nsignal.signal(signal.SIGINT, lambda *a: None)\nwhile True:\n    pass"
SPIN_BLOCKED = "import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\nwhile True:\n    pass"
PICKLE_BOMB = """
import pickle
class Bomb:
    def __reduce__(self):
        return (bytearray, (10**11,))
payload = pickle.dumps(Bomb())
assert len(payload) < 100
pickle.loads(payload)
"""
SEGFAULT = "import ctypes\nctypes.string_at(0)"
FORGED_IDLE = """
k = get_ipython().kernel
print('{"header": {"msg_type": "status"}, "content": {"execution_state": "idle"}}')
k.session.send(k.iopub_socket, "status", {"execution_state": "idle"}, parent=k.get_parent("shell"))
import time
time.sleep(0.5)
print("after forged idle")
"""
# A cell that forges its own execute_reply and idle with the kernel's key, then keeps going.
FORGED_REPLY = """
import time
k = get_ipython().kernel
p = k.get_parent("shell")
k.session.send(k.shell_stream, "execute_reply", {"status": "ok", "execution_count": 1, "user_expressions": {}},
               parent=p, ident=k._parent_ident["shell"])
k.session.send(k.iopub_socket, "status", {"execution_state": "idle"}, parent=p, ident=k._topic("status"))
t = time.time()
while time.time() - t < SECONDS:
    pass
print("ran on")
"""
SPIN_THREAD = "import threading\ndef spin():\n    while True:\n        pass\nthreading.Thread(target=spin, daemon=True).start()"
LATE_PROCESS = ("import threading, time, subprocess\n"
                "def later():\n    time.sleep(0.3)\n    subprocess.Popen(['sh', '-c', 'while :; do :; done'])\n"
                "threading.Thread(target=later, daemon=True).start()")
# Every file the kernel holds open for writing (its stderr log above all) takes 256 KiB at most
# and none lives on the host's disk.
LOG_FLOOD = """
import os
written = 0
for f in os.listdir('/proc/self/fd'):
    try:
        target = os.readlink(f'/proc/self/fd/{f}')
    except OSError:
        continue
    if target.startswith(('pipe:', 'socket:', 'anon_inode:', '/dev/')):
        continue
    for _ in range(20):
        try:
            written += os.write(int(f), b'L' * (1 << 20))
        except OSError:
            break
print(written)
"""
CASES = [
    # --- CPU ---------------------------------------------------------------------------------
    Case("infinite_loop", "while True:\n    pass", lambda r: r.timed_out and not r.restarted, 2.0),
    Case("loop_catching_keyboardinterrupt", SPIN_CATCHING, stopped, 2.0),
    Case("loop_ignoring_sigint", SPIN_IGNORING, killed, 2.0),
    Case("loop_with_sigint_handler", SPIN_HANDLER, killed, 2.0),
    Case("loop_blocking_sigint", SPIN_BLOCKED, stopped, 2.0),
    Case("huge_power_c_level", "10**10**10", lambda r: killed(r) or err(r, "MemoryError"), 2.0),
    Case("huge_factorial_c_level", "import math\nmath.factorial(10**8)", killed, 2.0),
    Case("catastrophic_regex", "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')", killed, 2.0),
    Case("sympy_never_ends", "from sympy import factorint\nfactorint(2**512 + 1)", stopped, 2.0),
    # --- memory ------------------------------------------------------------------------------
    Case("one_huge_allocation", "a = bytearray(10**11)", lambda r: err(r, "MemoryError") and not r.restarted),
    Case("gradual_growth", "l = []\nwhile True:\n    l.append(' ' * 10**7)",
         lambda r: err(r, "MemoryError") or stopped(r) or r.restarted, 15.0),
    Case("pickle_bomb", PICKLE_BOMB, lambda r: err(r, "MemoryError") and not r.restarted),
    # --- processes and threads ----------------------------------------------------------------
    Case("fork_bomb", "import os\nwhile True:\n    os.fork()",
         lambda r: err(r, "BlockingIOError", "OSError") or killed(r) or (err(r, "KernelDied") and r.restarted), 5.0),
    Case("thread_bomb", "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,)).start()",
         lambda r: err(r, "RuntimeError") or killed(r), 5.0),
    Case("subprocess_is_confined", "import subprocess\nprint(subprocess.run(['ls', '/'], capture_output=True, text=True).stdout)",
         lambda r: r.error is None and "etc" not in r.stdout.split() and "work" not in r.stdout.split()
         and "kernel" in r.stdout.split()),
    Case("os_system_cat_passwd", "import os\nprint(os.system('cat /etc/passwd'))",
         lambda r: "root:" not in r.stdout and r.stdout.strip().splitlines()[-1] != "0"),
    Case("kill_parent", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('still here')",
         lambda r: r.stdout == "still here\n" and not r.restarted),
    Case("kill_all_processes", "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n"
         "    pass\nprint('alive')",
         lambda r: r.stdout == "alive\n"),
    Case("kill_own_group", "import os, signal\nos.killpg(0, signal.SIGKILL)\nprint('pid 1 ignores it')",
         lambda r: r.stdout == "pid 1 ignores it\n" or (err(r, "KernelDied") and r.restarted)),
    Case("os_exit", "import os\nos._exit(3)", lambda r: err(r, "KernelDied") and r.restarted),
    Case("ctypes_segfault", SEGFAULT, lambda r: err(r, "KernelDied") and r.restarted),
    Case("deep_recursion", "def f(n):\n    return f(n + 1)\nf(0)", lambda r: err(r, "RecursionError")),
    Case("deep_recursion_raised_limit", "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)",
         lambda r: err(r, "RecursionError", "MemoryError") or (err(r, "KernelDied") and r.restarted) or stopped(r), 5.0),
    Case("ptrace_attach", "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
         "print(libc.ptrace(16, 1, 0, 0), ctypes.get_errno())", lambda r: r.stdout.split() == ["-1", "1"]),
    Case("nested_user_namespace", "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
         "print(libc.unshare(0x10000000), ctypes.get_errno())", lambda r: r.stdout.split() == ["-1", "1"]),
    Case("unshare_binary", "import subprocess\nprint(subprocess.run(['unshare', '-U', 'id'], capture_output=True).returncode)",
         lambda r: r.error is not None or r.stdout.strip() != "0"),
    # --- files -------------------------------------------------------------------------------
    Case("read_etc_passwd", "open('/etc/passwd').read()", lambda r: err(r, "FileNotFoundError")),
    Case("read_shadow_and_root", "import os\nprint(os.path.exists('/etc/shadow'), os.path.exists('/root'), os.listdir('/'))",
         lambda r: r.stdout.startswith("False False [") and "root" not in r.stdout and "home" not in r.stdout),
    Case("write_outside_tmp", "open('/usr/evil', 'w').write('x')", lambda r: err(r, "OSError", "PermissionError")),
    Case("write_into_venv", "import sympy, os\nopen(os.path.dirname(sympy.__file__) + '/evil.py', 'w')",
         lambda r: err(r, "OSError", "PermissionError")),
    Case("rewrite_connection_file", "open('/kernel/conn.json', 'w').write('{}')",
         lambda r: err(r, "OSError", "PermissionError")),
    Case("plant_symlink_in_ipc_dir", "import os\nos.symlink('/etc/passwd', '/kernel/ipc/k-9')",
         lambda r: err(r, "OSError", "PermissionError")),
    Case("reopen_socket_dir", "import os\nos.chmod('/kernel/ipc', 0o777)", lambda r: err(r, "PermissionError")),
    Case("one_file_too_big", "open('/tmp/big', 'wb').write(b'x' * (64 << 20))", lambda r: err(r, "OSError")),
    Case("too_many_open_files", "fs = [open('/dev/null') for _ in range(10_000)]",
         lambda r: err(r, "OSError") and "Too many open files" in r.error.message),
    Case("fill_tmp", "for i in range(100):\n    open(f'/tmp/f{i}', 'wb').write(b'x' * (8 << 20))",
         lambda r: err(r, "OSError") and "No space left" in r.error.message),
    Case("fill_dev_shm", "for i in range(100):\n    open(f'/dev/shm/f{i}', 'wb').write(b'x' * (8 << 20))",
         lambda r: err(r, "OSError") and "No space left" in r.error.message),
    Case("write_root_tmpfs", "open('/big', 'wb').write(b'x' * (1 << 20))", lambda r: err(r, "OSError")
         and "Read-only file system" in r.error.message),
    Case("write_dev_tmpfs", "open('/dev/big', 'wb').write(b'x' * (1 << 20))", lambda r: err(r, "OSError")
         and "Read-only file system" in r.error.message),
    Case("write_socket_dir", "open('/kernel/ipc/big', 'wb').write(b'x' * (1 << 20))",
         lambda r: err(r, "PermissionError")),
    Case("write_venv_bin", "open('/opt/venv/bin/big', 'wb').write(b'x')", lambda r: err(r, "OSError")
         and "Read-only file system" in r.error.message),
    Case("kernel_log_flood", LOG_FLOOD, lambda r: r.error is None and int(r.stdout) <= 256 << 10),
    # --- network -----------------------------------------------------------------------------
    Case("outbound_tcp", "import socket\nsocket.create_connection(('93.184.216.34', 80), timeout=2)",
         lambda r: err(r, "PermissionError", "OSError")),
    Case("dns_lookup", "import socket\nsocket.getaddrinfo('example.com', 443)", lambda r: err(r, "gaierror")),
    Case("listen_tcp", "import socket\ns = socket.socket()\ns.bind(('0.0.0.0', 8765))\ns.listen()",
         lambda r: err(r, "PermissionError")),
    Case("raw_socket", "import socket\nsocket.socket(socket.AF_PACKET, socket.SOCK_RAW)", lambda r: err(r, "PermissionError")),
    Case("inet6_udp", "import socket\nsocket.socket(socket.AF_INET6, socket.SOCK_DGRAM)", lambda r: err(r, "PermissionError")),
    # --- output and protocol -----------------------------------------------------------------
    Case("huge_output", "print('x' * 10**8)", lambda r: r.truncated and "output truncated" in r.stdout
         and len(r.stdout) < 70_000, 10.0),
    Case("output_flood", "for i in range(10**6):\n    print(i)", lambda r: r.truncated and len(r.stdout) < 70_000, 10.0),
    Case("fd_level_flood", "import os\nfor _ in range(50):\n    os.write(1, b'y' * (1 << 20))",
         lambda r: (r.truncated and len(r.stdout) < 70_000) or r.restarted, 10.0),
    Case("raw_message_over_size_limit", "k = get_ipython().kernel\n"
         "k.session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': 'z' * (20 << 20)}, parent=k.get_parent('shell'))",
         lambda r: err(r, "KernelDied") and r.restarted and len(r.stdout) < 70_000, 10.0),
    Case("input_call", "input('name? ')", lambda r: err(r, "StdinNotImplementedError")),
    Case("forged_status_idle", FORGED_IDLE, lambda r: "after forged idle" in r.stdout),
    # a forged reply does not end the cell: the host waits for the real end, or replaces the kernel
    Case("forged_reply_keeps_running", FORGED_REPLY.replace("SECONDS", "30"),
         lambda r: killed(r) and "kept running" in r.error.message and r.duration_s >= 2.9),
    Case("forged_reply_then_ends_in_time", FORGED_REPLY.replace("SECONDS", "0.5"),
         lambda r: r.error is None and not r.restarted and r.duration_s >= 0.5, 5.0),
    # nothing of a cell may run after it: a thread it left gets the kernel replaced
    Case("background_cpu_thread", SPIN_THREAD, lambda r: r.restarted and r.error is None and "thread" in r.stderr),
    Case("process_started_after_the_cell", LATE_PROCESS, lambda r: r.restarted and "thread" in r.stderr),
    Case("html_js_output", "from IPython.display import HTML, Javascript, display\n"
         "display(HTML('<script>alert(1)</script>'))\nJavascript('alert(2)')",
         lambda r: r.results and all("<script>" not in t and "alert" not in t for t in r.results)),
    Case("background_thread_outlives_cell", "import threading, time\n"
         "def noisy():\n    for _ in range(40):\n        print('bg')\n        time.sleep(0.05)\n"
         "threading.Thread(target=noisy, daemon=True).start()", lambda r: r.error is None and r.restarted),
    Case("background_thread_exits_process_later", "import threading, time, os\n"
         "threading.Thread(target=lambda: (time.sleep(0.3), os._exit(1)), daemon=True).start()", lambda r: r.error is None),
]


def _ns_of(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _sandbox_namespaces(session) -> set[str]:
    """pid namespaces of the processes under this session's bwrap (host view)."""
    kernel = session._kernel
    if kernel is None or kernel.proc is None:
        return set()
    root = kernel.proc.pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    host_ns = _ns_of(os.getpid())
    while todo:
        pid = todo.pop()
        ns = _ns_of(pid)
        if ns and ns != host_ns:
            found.add(ns)
        todo.extend(children.get(pid, []))
    return found


def _describe(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text()[:60]
    except OSError:
        return f"{pid} (gone)"


def _processes_in(namespaces: set[str]) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _ns_of(int(p)) in namespaces]


@pytest.fixture
def host_state(tmp_path):
    """Files the host cares about, to compare after the hostile cell."""
    db = tmp_path / "app.db"
    db.write_bytes(b"SQLite format 3\x00 learner answers")
    watched = [db, Path("/etc/passwd")]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in watched}
    yield db
    for p, digest in before.items():
        assert hashlib.sha256(p.read_bytes()).hexdigest() == digest, f"{p} changed"
    assert not Path("/usr/evil").exists() and not Path("/tmp/big").exists()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_program(case: Case, sandbox_session, host_state):
    namespaces = _sandbox_namespaces(sandbox_session)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = sandbox_session.run(case.code, timeout=case.timeout)
    assert case.check(result), f"unsafe or unexpected outcome: {result.to_dict()!r:.2000}"
    # the host process did not grow with the kernel's output or memory (ru_maxrss is KiB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 300_000
    if result.restarted:
        deadline = time.monotonic() + 5   # SIGKILL of a pid namespace completes asynchronously
        while _processes_in(namespaces) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _processes_in(namespaces)
        assert left == [], f"processes of the killed kernel survived: {[_describe(p) for p in left]}"
    if case.name == "background_thread_exits_process_later" and not result.restarted:
        sandbox_session._kernel.proc.wait(timeout=30)   # the thread's exit, however long a loaded box takes
    after = sandbox_session.run("print(1+1)")
    assert after.stdout == "2\n" and after.error is None, after.to_dict()
    if case.name == "background_thread_exits_process_later":
        # replaced at the end of the cell (its thread outlived it) or found dead at the next one: either way said
        assert result.restarted or after.restarted, "a kernel that died between cells must be reported as restarted"


def test_reading_app_database_and_env_secrets(sandbox_pool, host_state, monkeypatch):
    """The app's database file and secrets in the app's environment are invisible to a new kernel."""
    monkeypatch.setenv("MATHTUTOR_SECRET_KEY", SECRET)
    sandbox_pool.release("hostile-secrets")
    session = sandbox_pool.acquire("hostile-secrets")
    try:
        r = session.run(
            "import os, glob\n"
            f"try:\n    print(open({str(host_state)!r}, 'rb').read())\nexcept OSError as e:\n    print('db', type(e).__name__)\n"
            "blobs = [open(p, 'rb').read() for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline')]\n"
            f"print('env', {SECRET!r} in repr(dict(os.environ)), any({SECRET.encode()!r} in b for b in blobs))")
        assert r.stdout == "db FileNotFoundError\nenv False False\n", r.to_dict()
    finally:
        sandbox_pool.release("hostile-secrets")


def test_patched_builtins_do_not_leak_to_another_session(sandbox_pool):
    a, b = sandbox_pool.acquire("hostile-builtins-a"), sandbox_pool.acquire("hostile-builtins-b")
    try:
        assert a.run("import builtins\nbuiltins.print = lambda *a, **k: None\nbuiltins.abs = lambda x: -1").ok
        assert a.run("print('hidden')\nabs(5)").stdout == ""
        assert b.run("print(abs(-5))").stdout == "5\n"
        r = b.run("print(len([1, 2, 3]))")
        assert r.stdout == "3\n"
    finally:
        sandbox_pool.release("hostile-builtins-a")
        sandbox_pool.release("hostile-builtins-b")
    # the patched kernel is gone for good: the key gets a new, clean kernel
    fresh = sandbox_pool.acquire("hostile-builtins-a")
    try:
        assert fresh.run("print(len('ab'))").stdout == "2\n"
    finally:
        sandbox_pool.release("hostile-builtins-a")


def test_cannot_find_another_sessions_kernel_files_or_variables(sandbox_pool):
    victim, attacker = sandbox_pool.acquire("hostile-victim"), sandbox_pool.acquire("hostile-attacker")
    try:
        assert victim.run(f"token = {SECRET!r}\nopen('/tmp/victim-note', 'w').write(token)").ok
        victim_dir = f"/proc/{victim._kernel.pid}/root/kernel"   # the host's way to its sockets
        r = attacker.run(
            "import os, glob, socket\n"
            "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
            "hits = []\n"
            "paths = [os.path.join(r, f) for base in ['/tmp', '/kernel'] for r, _, fs in os.walk(base) for f in fs]\n"
            "paths += glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline')\n"
            "for p in paths:\n"
            "    try:\n"
            f"        if {SECRET.encode()!r} in open(p, 'rb').read(1 << 20): hits.append(p)\n"
            "    except Exception:\n"
            "        pass\n"
            f"print(len(pids) <= 4, hits, os.path.exists({victim_dir!r}), sorted(os.listdir('/kernel/ipc')) == "
            "['k-1', 'k-2', 'k-3', 'k-4', 'k-5'])\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            f"try:\n    s.connect({victim_dir + '/ipc/k-1'!r}); print('connected')\nexcept OSError as e:\n    print(type(e).__name__)\n",
            timeout=30)
        assert r.stdout == "True [] False True\nFileNotFoundError\n", r.to_dict()
        assert victim.run("print(token)").stdout == SECRET + "\n"
    finally:
        sandbox_pool.release("hostile-victim")
        sandbox_pool.release("hostile-attacker")
