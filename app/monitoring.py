"""`/healthz` (store reachable, sandbox self-check, backend reachable/loaded) and `/metrics` (Prometheus).

Both are unauthenticated on purpose (load balancers and Prometheus scrape them) and reveal no user
data: only component states and counters.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response

from app.context import AppContext

_HEALTH_TIMEOUT_S = 10.0


def _store_health(ctx: AppContext) -> dict[str, Any]:
    start = time.monotonic()
    try:
        ping = getattr(ctx.store, "ping", None)
        if ping is not None:
            ping()
        else:  # any cheap read proves the database answers
            ctx.store.user_by_name("")
        return {"ok": True, "dialect": getattr(ctx.store, "dialect", "?"),
                "seconds": round(time.monotonic() - start, 4)}
    except Exception as exc:  # any failure means "not reachable"; the type helps the admin
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _service_health(ctx: AppContext) -> dict[str, Any]:
    if ctx.service is None:
        return {"ok": False, "error": "no tutoring service configured"}
    try:
        health = ctx.service.health()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return health if isinstance(health, dict) else {"ok": bool(health)}


def _part_ok(part: Any) -> bool:
    if isinstance(part, dict):
        if "ok" in part:
            return bool(part["ok"])
        if "status" in part:
            return part["status"] in ("ok", "ready", "loaded", "warm", "safe")
    return True


def mount(app: FastAPI, ctx: AppContext) -> None:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        store = await asyncio.to_thread(_store_health, ctx)
        try:
            service = await asyncio.wait_for(asyncio.to_thread(_service_health, ctx), _HEALTH_TIMEOUT_S)
        except asyncio.TimeoutError:
            service = {"ok": False, "error": f"no answer within {_HEALTH_TIMEOUT_S:g} s"}
        # The service reports its sandbox and backend; surface them at the top level for admins.
        sandbox = service.get("sandbox", {}) if isinstance(service, dict) else {}
        backend = service.get("backend", {}) if isinstance(service, dict) else {}
        ok = store["ok"] and _part_ok(service) and _part_ok(sandbox) and _part_ok(backend)
        body = {"status": "ok" if ok else "degraded", "store": store, "sandbox": sandbox, "backend": backend,
                "service": {k: v for k, v in service.items() if k not in ("sandbox", "backend")}}
        return JSONResponse(body, status_code=200 if ok else 503, headers={"cache-control": "no-store"})

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(ctx.metrics.exposition(), media_type=ctx.metrics.content_type)

    app.include_router(router)
