"""`mathtutor doctor`: one report on every part an admin must get right, each ok/warn/fail with its fix.

The same function serves the command line (which starts a throw-away sandbox to self-check and opens
the store itself) and the admin page (which hands in the running app's store and kernel pool, so the
report is about what students use right now).
"""

from __future__ import annotations

import shutil
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any

from tutor.ops.backup import SECRET_KEY_FILE, sqlite_path
from tutor.ops.checks import FAIL, OK, WARN, Report, human_bytes
from tutor.ops.gpu import Gpu, find_gpus
from tutor.settings import Settings

DISK_WARN_BYTES = 5 * 1024 ** 3
DISK_FAIL_BYTES = 512 * 1024 ** 2
PROBE_TIMEOUT_S = 3.0
# Keys earlier versions shipped as defaults (app/secret.py refuses them at start).
_PUBLISHED_KEYS = {"dev-insecure-change-me"}


def doctor(settings: Settings, *, store: Any = None, pool: Any = None, gpus: list[Gpu] | None = None,
           sandbox: bool = True) -> Report:
    """Every check. `store`/`pool`: the running app's (else opened or started here and closed again);
    `sandbox=False` skips starting a probe kernel when no pool is given."""
    report = Report("mathtutor doctor")
    if gpus is None:
        gpus, how = find_gpus()
    else:
        how = "given"
    check_sandbox(settings, report, pool, start=sandbox)
    check_store(settings, report, store)
    check_disk(settings, report)
    check_model(settings, report, gpus)
    check_gpu(settings, report, gpus, how)
    check_secret_key(settings, report)
    check_listening(settings, report)
    check_tls(settings, report)
    return report


def check_sandbox(settings: Settings, report: Report, pool: Any, *, start: bool) -> None:
    from sandbox import KernelPool, SandboxError
    if pool is None and not start:
        report.add("sandbox", WARN, "not checked here (no kernel pool given, none started)",
                   "run `mathtutor doctor` on the server (without --no-sandbox) for the layers and the self-check")
        return
    tmp = None
    if pool is None:
        import dataclasses
        tmp = tempfile.TemporaryDirectory(prefix="mathtutor-doc-")   # short: unix socket paths are limited
        pool = KernelPool(dataclasses.replace(settings.sandbox, warm_kernels=0), Path(tmp.name))
        try:
            pool.start()
        except SandboxError:
            pass              # health() below says why, layer by layer
    try:
        health = pool.health()
    finally:
        if tmp is not None:
            pool.close()
            tmp.cleanup()
    if tmp is None and health.get("state") == "not_started":
        report.add("sandbox", WARN, "this app's kernel pool has not started yet (it starts with the first code run)",
                   "run `mathtutor doctor` on the server for the layers and the self-check")
        return
    allowed = set(health.get("allowed_missing") or ())
    for name, layer in (health.get("layers") or {}).items():
        if layer.get("active"):
            report.add(f"sandbox {name}", OK, str(layer.get("detail", "")))
        elif name in allowed:
            report.add(f"sandbox {name}", WARN, f"missing (allowed): {layer.get('detail', '')}",
                       "students' code runs with one isolation layer fewer; fix it or accept it knowingly")
        else:
            report.add(f"sandbox {name}", FAIL, f"missing: {layer.get('detail', '')}",
                       "install bubblewrap and allow unprivileged user namespaces (sysctl "
                       "kernel.unprivileged_userns_clone=1 / apparmor_restrict_unprivileged_userns=0), or run as "
                       "the systemd unit, which permits them")
    check = health.get("self_check") or {}
    if health.get("ok"):
        report.add("sandbox self-check", OK, f"{len(check.get('checks') or {})} escape attempts refused in a real kernel")
    elif check.get("checks"):
        bad = [f"{n}: {c['detail']}" for n, c in check["checks"].items() if not c.get("ok")]
        report.add("sandbox self-check", FAIL, "; ".join(bad)[:400] or "failed",
                   "students' code could reach what these name: fix the layers above, then run `mathtutor sandbox check`")
    else:
        report.add("sandbox self-check", FAIL, str(health.get("error") or health.get("state") or "did not run")[:400],
                   "run `mathtutor sandbox check` for each layer's state and fix what it names")


def check_store(settings: Settings, report: Report, store: Any) -> None:
    opened = store is None
    if opened:
        from tutor.store import open_store
        try:
            store = open_store(settings)
        except Exception as exc:  # noqa: BLE001 - a bad URL or missing driver is a finding, not a crash
            report.add("store", FAIL, f"cannot open {settings.effective_database_url.split('@')[-1]}: {exc}",
                       "check MATHTUTOR_DATABASE_URL and that the database server runs")
            return
    try:
        reachable = store.ping()
        info = store.health()
    finally:
        if opened:
            store.close()
    where = f"{info.get('dialect')} {info.get('url')}"
    if not reachable:
        report.add("store", FAIL, f"{where}: not reachable: {info.get('error')}",
                   "start the database server, or correct MATHTUTOR_DATABASE_URL")
    elif info.get("ok"):
        report.add("store", OK, f"{where}: reachable, writable, at migration {info.get('revision')} (head)")
    elif info.get("revision") != info.get("head"):
        report.add("store", FAIL if info.get("revision") else WARN,
                   f"{where}: at migration {info.get('revision') or 'none (blank)'}, the code needs {info.get('head')}",
                   "`mathtutor serve` migrates at start (after a backup), or run `mathtutor backup` then "
                   "`mathtutor db upgrade`")
    else:
        report.add("store", FAIL, f"{where}: refuses writes: {info.get('error')}",
                   "free disk space and check the database file's owner and permissions (or the server's logs)")


def check_disk(settings: Settings, report: Report) -> None:
    db = sqlite_path(settings.effective_database_url)
    where = Path(settings.data_dir)
    for candidate in ([db.parent] if db else []) + [where]:
        probe = candidate
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        usage = shutil.disk_usage(probe)
        label = "store and data dir" if db and candidate == db.parent else "data dir"
        text = f"{label} {candidate}: {human_bytes(usage.free)} free of {human_bytes(usage.total)}"
        if usage.free < DISK_FAIL_BYTES:
            report.add("disk", FAIL, text, "free space now: writes fail when the disk is full (old backups in "
                       f"{where / 'backups'} can be moved off the machine)")
        elif usage.free < DISK_WARN_BYTES:
            report.add("disk", WARN, text, "free space soon; backups and the SQLite store grow with every session")
        else:
            report.add("disk", OK, text)
        if db and db.parent.resolve() == where.resolve():
            break


def check_model(settings: Settings, report: Report, gpus: list[Gpu]) -> None:
    solver = settings.solver
    kind = solver.backend.split(":", 1)[0]
    if kind == "transformers":
        from tutor.ops.modelcheck import check_model as inspect
        found = inspect(solver.model, sessions=settings.web.max_concurrent_turns, context_tokens=solver.context_tokens,
                        dtype=solver.dtype, gpus=gpus)
        for c in found.checks:
            if c.part != "gpu":      # the GPU gets its own line below
                report.add(f"model {c.part}", c.status, c.detail, c.fix)
        report.facts["model"] = found.facts
        report.facts["model_need_bytes"] = found.facts.get("memory", {}).get("need_bytes")
    elif kind == "openai":
        _model_server(settings, report)
    else:
        report.add("model", WARN, f"backend {solver.backend}: recorded or scripted replies, no real model",
                   "for students set MATHTUTOR_BACKEND=transformers (GPU here) or openai (a model server)")


def _model_server(settings: Settings, report: Report) -> None:
    from tutor.solver.backends.servers import server_urls
    solver = settings.solver
    for base in server_urls(solver.backend.partition(":")[2] or solver.openai_base_url):   # each of several
        _one_model_server(settings, base, report)


def _one_model_server(settings: Settings, base: str, report: Report) -> None:
    import httpx
    solver = settings.solver
    headers = {"authorization": f"Bearer {solver.openai_api_key}"} if solver.openai_api_key else {}
    try:
        r = httpx.get(base.rstrip("/") + "/models", timeout=PROBE_TIMEOUT_S, headers=headers)
    except httpx.HTTPError as exc:
        report.add("model server", FAIL, f"{base} does not answer: {type(exc).__name__}: {exc}",
                   "start the model server (vLLM, SGLang or llama.cpp's llama-server) or correct "
                   "MATHTUTOR_OPENAI_BASE_URL")
        return
    if r.status_code in (401, 403):
        report.add("model server", FAIL, f"{base} refuses us ({r.status_code})", "set MATHTUTOR_OPENAI_API_KEY to its key")
        return
    try:
        served = [m.get("id") for m in r.json().get("data", [])]
    except (ValueError, AttributeError):
        served = []
    report.facts["served_models"] = served
    if r.status_code >= 400 or not served:
        report.add("model server", WARN, f"{base} answers {r.status_code} but lists no model on /models",
                   "check that it is an OpenAI-compatible server with a model loaded")
    elif solver.model in served:
        report.add("model server", OK, f"{base} serves {', '.join(served)}")
    else:
        # vLLM and SGLang refuse a request naming another model; llama.cpp ignores the name
        report.add("model server", WARN, f"{base} serves {', '.join(served)}; MATHTUTOR_MODEL is {solver.model}",
                   f"set MATHTUTOR_MODEL={served[0]} (the name sent with each request), or serve DeepSeekMath-7B-instruct")


def check_gpu(settings: Settings, report: Report, gpus: list[Gpu], how: str) -> None:
    solver = settings.solver
    local = solver.backend.split(":", 1)[0] == "transformers"
    listing = "; ".join(f"GPU {g.index} {g.name}: {human_bytes(g.free_bytes)} free of {human_bytes(g.total_bytes)}"
                        for g in gpus)
    if not local:
        report.add("gpu", OK, (listing or "none") + " (not needed here: the model runs elsewhere)")
        return
    if not gpus:
        status = FAIL if solver.device == "cuda" else WARN
        report.add("gpu", status, f"no CUDA GPU: {how}; the in-process model would run on the CPU, far too slow for a class",
                   "install the NVIDIA driver and a CUDA build of torch, or serve a GGUF model with llama.cpp "
                   "(MATHTUTOR_BACKEND=openai)")
        return
    need = report.facts.get("model_need_bytes")
    best = max(gpus, key=lambda g: g.free_bytes)
    if need and best.free_bytes < need:
        report.add("gpu", WARN if best.free_bytes > need // 2 else FAIL,
                   f"{listing}; the model with {settings.web.max_concurrent_turns} sessions needs {human_bytes(need)}",
                   "free the GPU (nvidia-smi shows who holds it) or lower MATHTUTOR_WEB_MAX_CONCURRENT_TURNS")
    else:
        report.add("gpu", OK, listing + (f"; the model needs {human_bytes(need)}" if need else ""))


def check_secret_key(settings: Settings, report: Report) -> None:
    path = Path(settings.data_dir) / SECRET_KEY_FILE
    if settings.secret_key:
        if settings.secret_key in _PUBLISHED_KEYS or len(settings.secret_key) < 32:
            report.add("secret key", FAIL, "MATHTUTOR_SECRET_KEY is a published default or shorter than 32 characters",
                       "set it to a random value (python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        else:
            report.add("secret key", OK, "from MATHTUTOR_SECRET_KEY (the same on every replica)")
        return
    if settings.env == "production":
        report.add("secret key", FAIL, "production needs MATHTUTOR_SECRET_KEY; `serve` refuses to start without it",
                   "set MATHTUTOR_SECRET_KEY to 32+ random characters in the service's environment file")
        return
    if not path.exists():
        report.add("secret key", OK, f"none yet: the first start generates {path} (owner-only)")
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        report.add("secret key", WARN, f"generated key {path} is readable by others (mode {mode:o})",
                   f"chmod 600 {path} (the app also does so at start)")
    elif len(path.read_text().strip()) < 32:
        report.add("secret key", FAIL, f"{path} holds no usable key", "delete it to have a new one generated "
                   "(everyone signs in again)")
    else:
        report.add("secret key", OK, f"generated on first start, kept in {path} (mode 600)")


def check_listening(settings: Settings, report: Report) -> None:
    host, port = settings.web.host, settings.web.port
    target = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    where = f"{host}:{port}"
    scope = ("every interface: students reach it directly" if host in ("0.0.0.0", "::", "")
             else "this machine only: a reverse proxy here forwards to it" if host in ("127.0.0.1", "localhost", "::1")
             else f"the address {host}")
    try:
        with socket.create_connection((target, port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError:
        try:
            with socket.socket(socket.AF_INET6 if ":" in target else socket.AF_INET) as s:
                s.bind((target, port))
        except OSError as exc:
            report.add("listen", FAIL, f"{where} cannot be bound: {exc}",
                       "set MATHTUTOR_HOST to an address of this machine and MATHTUTOR_PORT to a free port")
            return
        report.add("listen", OK, f"{where} is free; serve will listen on {scope}")
        return
    import httpx
    try:
        body = httpx.get(f"http://{target}:{port}/healthz", timeout=PROBE_TIMEOUT_S).json()
        ours = isinstance(body, dict) and body.get("status") in ("ok", "degraded")
    except (httpx.HTTPError, ValueError):
        ours = False
    if ours:
        report.add("listen", OK, f"mathtutor answers on {where} ({body['status']}), listening on {scope}")
    else:
        report.add("listen", FAIL, f"another program holds {where}",
                   "stop it, or set MATHTUTOR_PORT to a free port (and the proxy's upstream with it)")


def check_tls(settings: Settings, report: Report) -> None:
    web = settings.web
    public = web.host not in ("127.0.0.1", "localhost", "::1")
    if web.cookie_secure:
        report.add("tls", OK, "session cookies are HTTPS-only: a TLS proxy (nginx, Caddy) must terminate HTTPS and "
                   "send X-Forwarded-Proto; uvicorn trusts it from 127.0.0.1 (FORWARDED_ALLOW_IPS for a proxy elsewhere)")
    elif settings.env == "production" or public:
        report.add("tls", WARN, "session cookies and passwords travel without TLS"
                   + (" and the app listens beyond this machine" if public else ""),
                   "put a TLS proxy in front (see the README's admin section), keep MATHTUTOR_HOST=127.0.0.1 and set "
                   "MATHTUTOR_WEB_COOKIE_SECURE=true")
    else:
        report.add("tls", OK, "development: plain HTTP on this machine (behind a TLS proxy set "
                   "MATHTUTOR_WEB_COOKIE_SECURE=true)")
