"""`/healthz` (store reachable and writable, sandbox self-check, backend reachable/loaded), `/readyz`
(may a load balancer send this replica students now?) and `/metrics` (Prometheus).

`/healthz` answers 503 when something students need is broken (store unreachable or refusing writes,
sandbox self-check failed, model server unreachable). Load balancers need no more than that, so anyone
gets only `{"status": ...}`; the details (paths, sandbox policy, session counts) go to signed-in admins.
`/readyz` answers 503 while this replica cannot take a student's action: store unreachable or not at
the schema head, no model server answering (every one of several down). A replica shutting down stops
listening (uvicorn), which a load balancer sees at once.
A degraded sandbox does not take a replica out of rotation (students are told the calculator is off).
`/metrics` is for admins and for a scraper holding WEB_METRICS_TOKEN.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from app.context import AppContext
from app.cookies import SESSION_COOKIE

_HEALTH_TIMEOUT_S = 10.0
_PROBE_TIMEOUT_S = 3.0


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def store_health(ctx: AppContext) -> dict[str, Any]:
    start = time.monotonic()
    try:
        info = dict(ctx.store.health())
    except Exception as exc:  # any failure means "not reachable"; the type helps the admin
        return {"ok": False, "error": _error(exc)}
    info.pop("url", None)  # /healthz is public: no database host or name
    info["ok"] = bool(info.get("ok"))
    info["seconds"] = round(time.monotonic() - start, 4)
    return info


def service_health(ctx: AppContext) -> dict[str, Any]:
    try:
        health = ctx.service.health()
    except Exception as exc:
        return {"ok": False, "error": _error(exc)}
    return health if isinstance(health, dict) else {"ok": bool(health)}


def sandbox_health(ctx: AppContext, service: dict[str, Any]) -> dict[str, Any]:
    part = service.get("sandbox")
    if not isinstance(part, dict) and ctx.pool is not None:
        try:
            part = ctx.pool.health()
        except Exception as exc:
            part = {"ok": False, "error": _error(exc)}
    if isinstance(part, dict):
        return {"ok": bool(part.get("ok", "error" not in part)), **part}
    # the pool starts with the first code run; until then there is no self-check to report
    return {"ok": True, "state": str(part or "not started")}


def backend_health(ctx: AppContext, service: dict[str, Any]) -> dict[str, Any]:
    name = str(service.get("backend") or ctx.settings.solver.backend)
    out: dict[str, Any] = {"ok": True, "name": name, "loaded": "not loaded" not in name}
    if ctx.settings.solver.backend.split(":", 1)[0] == "openai":
        # the model servers are separate processes: ask each, briefly, whether it answers; one is enough
        from tutor.solver.backends.servers import server_urls
        spec = ctx.settings.solver.backend.partition(":")[2]
        servers = [probe_server(ctx, url) for url in server_urls(spec or ctx.settings.solver.openai_base_url)]
        out.update(servers[0] if len(servers) == 1 else {"servers": servers})
        out["reachable"] = out["ok"] = any(s["reachable"] for s in servers)
    return out


def probe_server(ctx: AppContext, base: str) -> dict[str, Any]:
    import httpx
    key = ctx.settings.solver.openai_api_key
    out: dict[str, Any] = {"url": base}
    try:
        r = httpx.get(base + "/models", timeout=_PROBE_TIMEOUT_S, headers={"authorization": f"Bearer {key}"} if key else {})
        out.update(reachable=r.status_code < 500, status=r.status_code)
    except httpx.HTTPError as exc:
        out.update(reachable=False, error=_error(exc))
    return out


def readiness(ctx: AppContext) -> tuple[bool, dict[str, Any]]:
    """Cheaper than health(): no write probe, no sandbox self-check; what routing a student here needs."""
    reasons = []
    if not ctx.store.ping():
        reasons.append("store unreachable")
    elif ctx.store.current_revision() != ctx.store.head_revision():
        reasons.append("store schema not at head")
    if not backend_health(ctx, {"backend": ctx.settings.solver.backend})["ok"]:
        reasons.append("no model server answers")
    return not reasons, {"status": "ready" if not reasons else "not ready", **({"reasons": reasons} if reasons else {})}


def health(ctx: AppContext) -> tuple[bool, dict[str, Any]]:
    store = store_health(ctx)
    service = service_health(ctx)
    sandbox = sandbox_health(ctx, service)
    backend = backend_health(ctx, service)
    ok = store["ok"] and sandbox["ok"] and backend["ok"] and service.get("ok", True) is not False
    extra = {k: v for k, v in service.items() if k not in ("sandbox", "backend", "store")}
    return ok, {"status": "ok" if ok else "degraded", "store": store, "sandbox": sandbox, "backend": backend,
                "service": extra}


def mount(app: FastAPI, ctx: AppContext) -> None:
    router = APIRouter()

    def is_admin(request: Request) -> bool:
        try:
            user = ctx.current_user(request)
        except Exception:  # noqa: BLE001 - a store that is down must not turn /healthz into a 500
            return False
        return user is not None and user.role == "admin"

    @router.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> Response:
        try:
            ok, body = await asyncio.wait_for(asyncio.to_thread(health, ctx), _HEALTH_TIMEOUT_S)
        except asyncio.TimeoutError:
            ok, body = False, {"status": "degraded", "error": f"no answer within {_HEALTH_TIMEOUT_S:g} s"}
        if not await asyncio.to_thread(is_admin, request):
            body = {"status": body["status"]}
        return JSONResponse(body, status_code=200 if ok else 503, headers={"cache-control": "no-store"})

    @router.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        try:
            ok, body = await asyncio.wait_for(asyncio.to_thread(readiness, ctx), _HEALTH_TIMEOUT_S)
        except asyncio.TimeoutError:
            ok, body = False, {"status": "not ready", "reasons": [f"no answer within {_HEALTH_TIMEOUT_S:g} s"]}
        except Exception as exc:  # noqa: BLE001 - a broken part means "do not route here", never a 500
            ok, body = False, {"status": "not ready", "reasons": [type(exc).__name__]}
        return JSONResponse(body, status_code=200 if ok else 503, headers={"cache-control": "no-store"})

    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        token = ctx.settings.web.metrics_token
        given = request.headers.get("authorization", "")
        if not (token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())) and not is_admin(request):
            return JSONResponse({"error": "forbidden", "message": "Sign in as an admin, or send the metrics token."},
                                status_code=403 if request.cookies.get(SESSION_COOKIE) else 401,
                                headers={"www-authenticate": "Bearer"})
        return Response(ctx.metrics.exposition(), media_type=ctx.metrics.content_type)

    app.include_router(router)
