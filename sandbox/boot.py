"""Kernel-side bootstrap, run INSIDE the sandbox as `python -I /kernel/boot.py <json>`.

It fixes the limits before any untrusted code exists (a hard rlimit cannot be raised again
without privileges), preloads modules so warm kernels answer fast, then becomes an ipykernel.
Nothing here is trusted by the host: the host re-checks everything it receives.
"""

import json
import os
import resource
import signal
import sys
import time


def _capped(write, written, cap):
    # Cooperative output cap: a print loop stops producing messages early instead of flooding
    # the channel. Hostile code can bypass it; the host enforces its own cap and a size limit.
    def capped_write(text):
        if written[0] > cap:
            return len(text)
        written[0] += len(text)
        return write(text[: max(0, cap - written[0] + len(text)) + 1])
    return capped_write


def _capped_format(format, cap):
    def capped_format(obj, include=None, exclude=None):
        data, metadata = format(obj, include=include, exclude=exclude)
        text = data.get("text/plain")
        if isinstance(text, str) and len(text) > cap:
            data["text/plain"] = text[:cap] + "\n[... result truncated ...]"
        return {"text/plain": data["text/plain"]} if "text/plain" in data else {}, {}
    return capped_format


def _reap_orphans(*_args):
    # Nothing a cell starts may outlive it (fork bombs, background subprocesses): kill(-1) hits
    # every process of this sandbox except this kernel and bwrap's init, which reaps them.
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass        # ESRCH: nothing to kill (the usual case: one cheap syscall per cell)
    else:
        # Reap the kernel's own killed children so no zombie holds a process slot.
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.002)


def _load_filter(bpf):
    # A BPF program compiled on the host (sandbox/seccomp.py): loading it needs only prctl(2), so
    # nothing here looks up libseccomp, which the jail could not find by name anyway.
    import ctypes

    if not bpf or len(bpf) % 8:
        raise SystemExit("after-start seccomp program is empty or malformed")

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    prog = SockFprog(len(bpf) // 8, bpf)
    # PR_SET_NO_NEW_PRIVS (bwrap set it already; a filter needs it), then PR_SET_SECCOMP/MODE_FILTER.
    # It stacks on bwrap's filter: filters can only ever be added, never removed.
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:
        raise SystemExit(f"cannot load the after-start seccomp program: errno {ctypes.get_errno()}")


def main(cfg):
    for name, value in cfg["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    for mod in cfg["preload"]:
        __import__(mod)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", cfg["connection_file"], "--HistoryManager.enabled=False", "--IPKernelApp.parent_handle=0"])
    app.shell.run_line_magic("colors", "nocolor")
    # Plain tracebacks: the verbose formatter takes seconds on a deep RecursionError.
    app.shell.run_line_magic("xmode", "Plain")
    # Results travel as text/plain only: no HTML/JS/LaTeX reprs are even computed (cheaper, and
    # nothing the host could render), and a huge repr is cut here before it becomes one message.
    fmt = app.shell.display_formatter
    fmt.active_types = ["text/plain"]
    fmt.format = _capped_format(fmt.format, cfg["max_output"])
    written = [0]
    app.shell.events.register("pre_execute", lambda *a: written.__setitem__(0, 0))
    app.shell.events.register("post_execute", _reap_orphans)
    for stream in (sys.stdout, sys.stderr):
        stream.write = _capped(stream.write, written, cfg["max_output"])
    # pyzmq starts a garbage-collector thread (with a context of its own) at the first large
    # message; start it now so it is among the threads the host sees before any cell, because a
    # thread that appears during a cell gets the kernel replaced.
    from zmq.utils.garbage import gc
    gc.start()
    # ipykernel echoes fd-level output of cells to the original stdout/stderr; stderr is the host's
    # small start-up log, and once that is full the echo fails and the cell's next write blocks.
    devnull = os.open("/dev/null", os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        copy = getattr(stream, "_original_stdstream_copy", None)
        if isinstance(copy, int):
            os.dup2(devnull, copy)
    os.close(devnull)
    if cfg["after_start_bpf"]:
        import base64
        _load_filter(base64.b64decode(cfg["after_start_bpf"]))
    sys.argv = sys.argv[:1]
    app.start()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
