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
def _path(label, path, dev, ino, hidden):
    # A leak is the host's own directory reachable inside, or a hidden name existing at all; a
    # directory of the sandbox's own that happens to share a name (/tmp as the app's cwd) is not.
    try:
        st = os.stat(path)
    except OSError as exc:
        return [True, "not visible: " + type(exc).__name__]
    if (st.st_dev, st.st_ino) == (dev, ino):
        return [False, "the host's directory is visible inside: " + path]
    if hidden:
        return [False, "host path exists inside: " + path]
    return [True, "only the sandbox's own " + path + " (not the host's)"]
for _label, _p, _dev, _ino, _hidden in PATHS:
    _r["path_" + _label] = _path(_label, _p, _dev, _ino, _hidden)
import re
def _named(texts):
    return [n for n in NAMES if any(re.search(r"(?<![\w.-])" + re.escape(n) + r"(?![\w.-])", t) for t in texts)]
_mounts = [open(f, errors="replace").read() for f in ("/proc/self/mountinfo", "/proc/self/mounts")]
_hit = _named(_mounts)
_r["mountinfo"] = [not _hit, ("names host paths: " + repr(_hit)) if _hit else "names no host path"]
_meta = []
for _site in glob.glob("/opt/venv/lib*/python*/site-packages") + glob.glob(os.path.dirname(os.__file__) + "/site-packages"):
    for _f in (glob.glob(_site + "/*.pth") + glob.glob(_site + "/__editable__*") + glob.glob(_site + "/*.egg-link")
               + glob.glob(_site + "/*.dist-info/direct_url.json") + glob.glob(_site + "/__pycache__/__editable__*")):
        try:
            _meta.append(open(_f, "rb").read(1 << 20).decode(errors="replace"))
        except OSError:
            pass
_hit = _named(_meta)
_r["install_metadata"] = [not _hit, ("editable-install files name " + repr(_hit)) if _hit else
                          "no install file names a host path (%d read)" % len(_meta)]
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


def _paths(pool: "KernelPool") -> tuple[list, list[str]]:
    """[label, path, st_dev, st_ino, hidden] for the probe, and the host path names to look for."""
    hidden = {"run_dir": str(pool.run_dir.resolve()), "app_source": str(Path(__file__).resolve().parents[1]),
              **pool.jail.host_paths()}
    entries = {label: (p, True) for label, p in hidden.items() if not _public(p)}
    try:
        entries["cwd"] = (os.getcwd(), False)   # only the host's own directory would leak, not its name
    except OSError:
        pass   # the working directory was removed: nothing of it can leak
    out = []
    for label, (p, is_hidden) in entries.items():
        try:
            st = os.stat(p)
        except OSError:
            continue
        out.append([label, p, st.st_dev, st.st_ino, is_hidden])
    return out, sorted({p for p, is_hidden in entries.values() if is_hidden})


def _public(path: str) -> bool:
    """Trees the jail shares read-only on purpose: seeing them inside is the design."""
    from sandbox.jail import _is_system
    return path == "/" or _is_system(path)


def run(pool: "KernelPool") -> dict:
    """Start a probe kernel, run the probe, interpret it; {"ok": bool, "checks": {...}, "info": {...}}."""
    canary = secrets.token_hex(16)
    os.environ[CANARY_VAR] = canary   # a stand-in for the app's real secrets, in the parent's environment
    paths, names = _paths(pool)
    code = (f"CANARY = {canary!r}\nPATHS = {paths!r}\nNAMES = {names!r}\n"
            f"CHECK_SECCOMP = {pool.jail.layers['seccomp'].active!r}\n" + _PROBE)
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
