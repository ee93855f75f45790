"""`/healthz` (store reachable, sandbox self-check, backend reachable/loaded) and `/metrics` (Prometheus).

Both are unauthenticated on purpose (load balancers and Prometheus scrape them) and reveal no user
data: only component states and counters. `/healthz` answers 503 when something students need is
broken (store unreachable, sandbox self-check failed, model server unreachable).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response

from app.context import AppContext

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
        # the model server is a separate process: ask it, briefly, whether it answers
        import httpx
        url = ctx.settings.solver.openai_base_url.rstrip("/") + "/models"
        headers = {"authorization": f"Bearer {ctx.settings.solver.openai_api_key}"} if ctx.settings.solver.openai_api_key else {}
        try:
            r = httpx.get(url, timeout=_PROBE_TIMEOUT_S, headers=headers)
            out.update(reachable=r.status_code < 500, status=r.status_code)
        except httpx.HTTPError as exc:
            out.update(reachable=False, error=_error(exc))
        out["ok"] = out["reachable"]
    return out


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

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        try:
            ok, body = await asyncio.wait_for(asyncio.to_thread(health, ctx), _HEALTH_TIMEOUT_S)
        except asyncio.TimeoutError:
            ok, body = False, {"status": "degraded", "error": f"no answer within {_HEALTH_TIMEOUT_S:g} s"}
        return JSONResponse(body, status_code=200 if ok else 503, headers={"cache-control": "no-store"})

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(ctx.metrics.exposition(), media_type=ctx.metrics.content_type)

    app.include_router(router)
