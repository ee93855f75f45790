"""What a kernel can learn about the host and what it can leave running, checked from both sides:
the kernel's own view (mountinfo, the interpreter, install files) and the host's (/proc, cgroups)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from sandbox import procfs

APP_SOURCE = str(Path(__file__).resolve().parents[2])


def test_starts_without_libseccomp_lookup_inside_and_the_after_start_filter_holds(sandbox_session):
    # Fresh machines have no libseccomp-dev and the jail no ld.so.cache: nothing inside may need them.
    r = sandbox_session.run("import os, sys\nopen('/tmp/f', 'w').close()\n"
                            "try:\n    os.chmod('/tmp/f', 0o777)\nexcept PermissionError as e:\n    print('denied', e.errno)\n"
                            "print('pyseccomp' in sys.modules, 'ctypes.util' in sys.modules)")
    assert r.stdout == "denied 1\nFalse False\n", r.to_dict()


def test_mountinfo_names_no_host_path(sandbox_session, sandbox_pool):
    r = sandbox_session.run("print(open('/proc/self/mountinfo').read())\nprint(open('/proc/self/mounts').read())")
    assert r.error is None and "/opt/venv" in r.stdout
    host = [str(sandbox_pool.run_dir.resolve()), os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
            APP_SOURCE]
    named = [p for p in host if p in r.stdout and not p.startswith("/usr")]
    assert named == [], f"mountinfo names host paths {named}:\n{r.stdout}"


def test_interpreter_is_not_at_its_host_path(sandbox_session):
    base = os.path.realpath(sys.base_prefix)
    if base.startswith("/usr"):
        pytest.skip("a distribution's Python in /usr is public and keeps its path")
    home = os.path.expanduser("~")
    r = sandbox_session.run(f"import os, sys\nprint(sys.executable, sys.base_prefix)\n"
                            f"print(os.path.exists({base!r}), os.path.exists({home!r}), "
                            f"os.path.exists({str(Path(base).parent)!r}))\nprint(sorted(os.listdir('/')))")
    lines = r.stdout.splitlines()
    assert lines[0] == "/opt/venv/bin/python3 /opt/python", r.to_dict()
    assert lines[1] == "False False False", r.to_dict()
    assert Path(home).name not in lines[2] and "home" not in lines[2]


def test_editable_install_does_not_name_the_source_directory(sandbox_session):
    r = sandbox_session.run(
        "import glob, importlib.util\n"
        "files = [f for p in ('*.pth', '__editable__*', '*.dist-info/direct_url.json', '__pycache__/__editable__*', '*.egg-link')\n"
        "         for f in glob.glob('/opt/venv/lib/python3*/site-packages/' + p)]\n"
        f"print(sum({APP_SOURCE!r} in open(f, 'rb').read().decode(errors='replace') for f in files), "
        "len(files) > 0, importlib.util.find_spec('tutor'))")
    assert r.stdout == "0 True None\n", r.to_dict()


def _cpu_over(pid: int, seconds: float) -> float:
    before = procfs.cpu_seconds(pid)
    time.sleep(seconds)
    return procfs.cpu_seconds(pid) - before


def test_nothing_of_a_cell_runs_after_it_ends(sandbox_session):
    # The kernel's own post-cell reaper is cooperative: a cell can switch it off. The host's is not.
    r = sandbox_session.run("import subprocess\nip = get_ipython()\n"
                            "for cb in list(ip.events.callbacks['post_execute']):\n"
                            "    ip.events.unregister('post_execute', cb)\n"
                            "spinners = [subprocess.Popen(['sh', '-c', 'while :; do :; done']) for _ in range(2)]\n"
                            "sleeper = subprocess.Popen(['sleep', '600'])\nprint('left', len(spinners) + 1)")
    assert r.stdout == "left 3\n" and not r.restarted, r.to_dict()
    kernel = sandbox_session._kernel
    assert procfs.descendants(kernel.pid) == []            # every process it started is gone
    assert procfs.state(kernel.pid) in ("T", "t")           # and the kernel waits, stopped, for its next cell
    assert _cpu_over(kernel.pid, 0.5) < 0.05
    r = sandbox_session.run("print(spinners[0].poll(), sleeper.poll())")   # state kept, the kernel runs again
    assert r.stdout == "-9 -9\n", r.to_dict()


def test_a_thread_burning_cpu_after_its_cell_gets_the_kernel_replaced(sandbox_session):
    sandbox_session.run("x = 42")
    pid = sandbox_session._kernel.pid
    r = sandbox_session.run("import threading\ndef spin():\n    while True:\n        pass\n"
                            "threading.Thread(target=spin, daemon=True).start()\nprint('started')")
    assert r.stdout == "started\n" and r.restarted and "variables are lost" in r.stderr, r.to_dict()
    deadline = time.monotonic() + 5
    while procfs.state(pid) not in ("", "Z", "X") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert procfs.state(pid) in ("", "Z", "X"), "the kernel with the spinning thread still exists"
    assert sandbox_session.run("print(x)").error.type == "NameError"


def test_each_kernel_gets_a_cpu_quota_where_cgroups_allow(sandbox_session, sandbox_pool):
    if not sandbox_pool.jail.cgroups.has_cpu:
        pytest.skip("no writable cgroup cpu controller on this machine")
    files = [d / n for d in sandbox_session._kernel.cgroup.dirs for n in ("cpu.max", "cpu.cfs_quota_us")
             if (d / n).exists()]
    assert files and files[0].read_text().split()[0] == str(int(sandbox_pool.config.cpu_quota * 100_000))


def test_kernel_output_stays_off_the_data_disk(sandbox_session, sandbox_pool):
    r = sandbox_session.run("import os, sys\nprint('x' * 1000, file=sys.__stderr__)\n"
                            "os.write(2, b'y' * (1 << 20))")
    assert r.error is None, r.to_dict()
    sizes = [p.stat().st_size for p in sandbox_pool.run_dir.rglob("*") if p.is_file()]
    assert sum(sizes) == 0, f"kernel output reached the run directory: {sizes}"
