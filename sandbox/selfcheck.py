"""The start-up self-check: inside a real sandboxed kernel, things that must fail do fail.

It catches a misconfigured machine (bwrap that silently shares the network, an environment
that leaks) before any learner's code runs. The probe kernel is thrown away afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.pool import KernelPool

# Layers that cannot be waived: without them there is no sandbox at all.
MANDATORY = ("bwrap", "namespaces", "rlimits")
CANARY_VAR = "MATHTUTOR_SANDBOX_CANARY"

_PROBE = r'''
import glob, json, os, socket
_r = {}
def _attempt(name, fn):
    try:
        value = fn()
        _r[name] = [False, "succeeded: " + repr(value)[:120]]
    except BaseException as exc:
        _r[name] = [True, "refused: " + (type(exc).__name__ + ": " + str(exc))[:160]]
_attempt("outbound_connect", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2).getpeername())
_attempt("dns_lookup", lambda: socket.getaddrinfo("example.com", 80))
_attempt("host_file", lambda: open("/etc/passwd").read(64))
for _i, _p in enumerate(PATHS):
    _attempt("app_path_%d" % _i, lambda: os.listdir(_p))
def _env():
    for _f in ["/proc/self/environ"] + glob.glob("/proc/[0-9]*/environ"):
        try:
            if CANARY.encode() in open(_f, "rb").read():
                return "found in " + _f
        except OSError:
            pass
    if any(CANARY in v for v in os.environ.values()):
        return "found in os.environ"
    raise LookupError("canary not visible (environment has %d variables)" % len(os.environ))
_attempt("parent_secret", _env)
if CHECK_SECCOMP:
    _attempt("inet_socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    _attempt("user_namespace", lambda: os.unshare(0x10000000) if hasattr(os, "unshare") else __import__("ctypes").CDLL(None, use_errno=True).unshare(0x10000000) == 0 or (_ for _ in ()).throw(OSError(__import__("ctypes").get_errno(), "unshare failed")))
_status = open("/proc/self/status").read()
_r["_info"] = {"uid": os.getuid(), "seccomp": "Seccomp:\t2" in _status, "no_new_privs": "NoNewPrivs:\t1" in _status,
               "hostname": socket.gethostname(), "pid": os.getpid()}
print(json.dumps(_r))
'''


def run(pool: "KernelPool") -> dict:
    """Start a probe kernel, run the probe, interpret it; {"ok": bool, "checks": {...}, "info": {...}}."""
    canary = secrets.token_hex(16)
    os.environ[CANARY_VAR] = canary   # a stand-in for the app's real secrets, in the parent's environment
    paths = [str(pool.run_dir.resolve()), os.getcwd(), str(Path(__file__).resolve().parent)]
    code = (f"CANARY = {canary!r}\nPATHS = {paths!r}\nCHECK_SECCOMP = {pool.jail.layers['seccomp'].active!r}\n"
            + _PROBE)
    kernel = pool._new_kernel()
    try:
        result, _ = kernel.execute(code, 30.0)
    finally:
        kernel.kill()
        os.environ.pop(CANARY_VAR, None)
    if result.error or result.timed_out:
        return {"ok": False, "checks": {"probe": {"ok": False, "detail": f"probe failed to run: {result.error}"}},
                "info": {}}
    try:
        raw = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "checks": {"probe": {"ok": False, "detail": f"unreadable probe output {result.stdout[:200]!r}"}},
                "info": {}}
    info = raw.pop("_info", {})
    checks = {name: {"ok": bool(ok), "detail": detail} for name, (ok, detail) in raw.items()}
    if pool.jail.layers["seccomp"].active:
        checks["seccomp_active"] = {"ok": bool(info.get("seccomp")), "detail": f"Seccomp mode 2 in kernel: {info.get('seccomp')}"}
    if pool.jail.uid is not None:
        checks["kernel_user"] = {"ok": info.get("uid") == pool.jail.uid,
                                 "detail": f"kernel uid {info.get('uid')} (expected {pool.jail.uid})"}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks, "info": info,
            "duration_s": round(result.duration_s, 3)}
