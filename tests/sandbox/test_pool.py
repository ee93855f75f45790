"""Pool lifecycle: warm kernels, one kernel per key and never reused, the live cap, replacement
after crashes, cool-down, culling, and refusing to start when an isolation layer is missing."""

from __future__ import annotations

import os
import time

import pytest

from sandbox import KernelPool, SandboxBusy, SandboxError, SandboxUnsafe
from sandbox import cgroup as cgroup_mod
from sandbox import seccomp as seccomp_mod
from tests.fixtures.sandbox import make_config

pytestmark = pytest.mark.kernel  # every test here starts a pool of its own


@pytest.fixture
def run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("p")   # short: unix socket paths are limited to 107 bytes


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_warm_kernel_is_handed_out_with_sympy_preloaded(run_dir):
    with KernelPool(make_config(warm_kernels=1, max_kernels=3), run_dir) as pool:
        assert wait_for(lambda: pool.health()["kernels"]["warm"] == 1)
        warm_id = pool._warm[0].id
        session = pool.acquire("warm")
        assert session.kernel_id == warm_id
        r = session.run("import sys\nprint('sympy' in sys.modules, 'sympy' in dir())")
        assert r.stdout == "True False\n"   # imported, but the user namespace is clean
        assert wait_for(lambda: pool.health()["kernels"]["warm"] == 1)   # refilled in the background


def test_one_kernel_per_key_never_reused(run_dir):
    with KernelPool(make_config(warm_kernels=1, max_kernels=4), run_dir) as pool:
        seen = set()
        a = pool.acquire("a")
        assert a.run("v = 'a-state'").ok
        seen.add(a.kernel_id)
        pool.release("a")
        with pytest.raises(SandboxError, match="released"):
            a.run("print(v)")
        a2 = pool.acquire("a")
        assert a2 is not a and a2.kernel_id not in seen
        r = a2.run("print(v)")
        assert r.error is not None and r.error.type == "NameError"
        seen.add(a2.kernel_id)
        b = pool.acquire("b")
        assert b.kernel_id not in seen


def test_cap_on_live_kernels_says_busy(run_dir):
    with KernelPool(make_config(warm_kernels=0, max_kernels=2), run_dir) as pool:
        pool.acquire("one")
        pool.acquire("two")
        with pytest.raises(SandboxBusy, match="in use") as busy:
            pool.acquire("three")
        assert busy.value.code == "sandbox_busy" and not isinstance(busy.value, SandboxUnsafe)
        assert pool.health()["state"] == "ok"
        pool.release("one")
        assert pool.acquire("three").run("print(3)").stdout == "3\n"


def test_crash_gives_fresh_kernel_and_says_state_was_lost(run_dir):
    with KernelPool(make_config(warm_kernels=1, max_kernels=3), run_dir) as pool:
        s = pool.acquire("crash")
        assert s.run("keep = 1").ok
        before = s.kernel_id
        r = s.run("import os\nos._exit(9)")
        assert r.restarted and r.error is not None and r.error.type == "KernelDied"
        after = s.run("print('keep' in dir())")
        assert after.stdout == "False\n" and s.kernel_id != before
        kills = pool.health()["recent_kills"]
        assert kills and kills[-1]["key"] == "crash"


def test_timeout_interrupt_keeps_state(run_dir):
    with KernelPool(make_config(warm_kernels=0, max_kernels=2), run_dir) as pool:
        s = pool.acquire("t")
        s.run("kept = 41")
        r = s.run("import time\nwhile True:\n    time.sleep(0.01)", timeout=1.0)
        assert r.timed_out and not r.restarted and r.error.type == "TimeoutError"
        assert s.run("print(kept + 1)").stdout == "42\n"


def test_repeated_kills_put_session_in_cooldown(run_dir):
    config = make_config(warm_kernels=0, max_kernels=3, kills_before_cooldown=2, kill_window_s=60, cooldown_s=30)
    with KernelPool(config, run_dir) as pool:
        s = pool.acquire("bad")
        for _ in range(2):
            assert s.run("import os\nos._exit(1)").restarted
        with pytest.raises(SandboxBusy, match="stopped repeatedly"):
            s.run("print(1)")
        with pytest.raises(SandboxBusy):
            pool.acquire("bad")
        assert pool.health()["cooling_down"] == ["bad"]
        assert pool.acquire("good").run("print(1+1)").stdout == "2\n"   # others unaffected


def test_idle_kernel_is_culled_and_next_cell_gets_fresh_one(run_dir):
    with KernelPool(make_config(warm_kernels=0, max_kernels=2, idle_timeout_s=1.0), run_dir) as pool:
        s = pool.acquire("idle")
        s.run("x = 1")
        assert wait_for(lambda: s.kernel_id is None, timeout=10)
        r = s.run("print('x' in dir())")
        assert r.stdout == "False\n" and r.restarted
        assert any(k["reason"] == "idle" for k in pool.health()["recent_kills"])


def test_old_kernel_is_culled_after_max_lifetime(run_dir):
    with KernelPool(make_config(warm_kernels=0, max_kernels=2, max_lifetime_s=2.0), run_dir) as pool:
        s = pool.acquire("old")
        deadline = time.monotonic() + 10
        while s.kernel_id is not None and time.monotonic() < deadline:
            s.run("pass")   # busy but old: still culled between cells
            time.sleep(0.2)
        assert s.kernel_id is None
        assert s.run("print(1)").restarted


def test_closed_pool_refuses(run_dir):
    pool = KernelPool(make_config(warm_kernels=0), run_dir).start()
    s = pool.acquire("c")
    pool.close()
    with pytest.raises(SandboxError):
        pool.acquire("d")
    with pytest.raises(SandboxError):
        s.run("print(1)")


def test_cgroup_memory_cap_stops_many_processes(run_dir):
    config = make_config(warm_kernels=0, max_kernels=2, cgroup_memory_mb=400, allow_missing=())
    pool = KernelPool(config, run_dir)
    try:
        pool.start()
    except SandboxUnsafe as exc:
        pytest.skip(f"no writable cgroup on this machine: {exc}")
    try:
        s = pool.acquire("mem")
        # each process stays under the address-space rlimit; together they pass the cgroup cap
        r = s.run("import os, time\nkids = []\nfor _ in range(4):\n    pid = os.fork()\n    if pid == 0:\n"
                  "        block = b'x' * (150 << 20)\n        time.sleep(3)\n        os._exit(0)\n    kids.append(pid)\n"
                  "dead = 0\nfor pid in kids:\n    _, status = os.waitpid(pid, 0)\n    dead += os.WIFSIGNALED(status)\n"
                  "print('killed', dead)", timeout=20)
        assert r.restarted or (r.stdout.startswith("killed ") and r.stdout != "killed 0\n"), r.to_dict()
        assert s.run("print(1+1)").stdout == "2\n"
    finally:
        pool.close()


def test_cpu_rlimit_ends_a_kernel_that_ignores_interrupts(run_dir):
    with KernelPool(make_config(warm_kernels=0, max_kernels=2, cpu_seconds=3), run_dir) as pool:
        s = pool.acquire("cpu")
        r = s.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", timeout=60)
        # killed by RLIMIT_CPU long before the 60 s deadline
        assert r.restarted and not r.timed_out and r.error.type == "KernelDied" and r.duration_s < 30
        assert s.run("print(1+1)").stdout == "2\n"


def test_missing_bwrap_refuses_even_if_allowed(run_dir):
    config = make_config(bwrap="/nonexistent/bwrap", allow_missing=("bwrap", "namespaces", "cgroup"))
    pool = KernelPool(config, run_dir)
    with pytest.raises(SandboxUnsafe, match="bwrap"):
        pool.start()
    h = pool.health()
    assert h["layers"]["bwrap"]["active"] is False and h["ok"] is False
    # an unsafe sandbox says so, to health() and to every later caller: it is not "busy"
    assert h["state"] == "unsafe" and "bwrap" in h["error"]
    with pytest.raises(SandboxUnsafe, match="bwrap") as unsafe:
        pool.acquire("learner")
    assert unsafe.value.code == "sandbox_unsafe" and not isinstance(unsafe.value, SandboxBusy)


def test_missing_seccomp_refuses_unless_explicitly_allowed(run_dir, monkeypatch):
    def no_libseccomp():
        raise OSError("libseccomp.so.2: cannot open shared object file")
    monkeypatch.setattr(seccomp_mod, "build_bpf", no_libseccomp)
    with pytest.raises(SandboxUnsafe, match="seccomp"):
        KernelPool(make_config(warm_kernels=0), run_dir).start()
    with KernelPool(make_config(warm_kernels=0, allow_missing=("seccomp", "cgroup")), run_dir) as pool:
        h = pool.health()
        assert h["layers"]["seccomp"]["active"] is False and "libseccomp" in h["layers"]["seccomp"]["detail"]
        assert h["self_check"]["ok"] and h["ok"]
        r = pool.acquire("x").run("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)")
        assert r.error is not None and r.error.type in ("OSError", "PermissionError")   # the netns still blocks


def test_missing_cgroup_refuses_when_required(run_dir, monkeypatch):
    def unavailable(self):
        self.version, self.reason = None, "no writable cgroup memory controller (test)"
    monkeypatch.setattr(cgroup_mod.Cgroups, "_detect", unavailable)
    with pytest.raises(SandboxUnsafe, match="cgroup"):
        KernelPool(make_config(warm_kernels=0, allow_missing=()), run_dir).start()
    with KernelPool(make_config(warm_kernels=0, allow_missing=("cgroup",)), run_dir) as pool:
        assert pool.health()["layers"]["cgroup"] == {"active": False,
                                                     "detail": "no writable cgroup memory controller (test)"}


@pytest.mark.skipif(os.geteuid() != 0, reason="the dedicated kernel user only applies when the app runs as root")
def test_root_without_kernel_user_refuses(run_dir):
    with pytest.raises(SandboxUnsafe, match="unprivileged_user"):
        KernelPool(make_config(kernel_user="no-such-user-xyz"), run_dir).start()


def test_kernel_that_cannot_start_gives_the_reason(run_dir):
    pool = KernelPool(make_config(preload=("no_such_module_xyz",)), run_dir)
    with pytest.raises(SandboxUnsafe, match="no_such_module_xyz"):   # no kernel at all: not a busy sandbox
        pool.start()
    assert pool.health()["state"] == "unsafe"
    assert list(run_dir.iterdir()) == []   # nothing of the failed kernel is left behind


def test_start_removes_only_stale_kernel_files(run_dir):
    old_dir, old_log, recent, other = (run_dir / "0123456789ab", run_dir / "0123456789ab.log",
                                       run_dir / "ba9876543210", run_dir / "notes.txt")
    (old_dir / "ipc").mkdir(parents=True)
    (old_dir / "ipc" / "escape").symlink_to(run_dir / "notes.txt")
    old_log.write_text("old")
    recent.mkdir()
    other.write_text("not ours")
    long_ago = time.time() - 10 * 24 * 3600
    for p in (old_dir, old_log, other):
        os.utime(p, (long_ago, long_ago), follow_symlinks=False)
    with KernelPool(make_config(warm_kernels=0), run_dir):
        assert not old_dir.exists() and not old_log.exists()
        assert recent.exists() and other.read_text() == "not ours"
