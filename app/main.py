"""The web application: FastAPI owns sign-in, roles, health and metrics; Gradio pages mount inside it.

`create_app(settings, service=None)` builds everything from settings and never reads the environment
itself, so tests build apps with their own settings, store and scripted backends.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import TYPE_CHECKING, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from app.context import AppContext, CsrfFailed, LoginRequired, RoleRequired
from app.cookies import SessionCookies
from app.edge import Edge
from app.messages import friendly
from app.metrics import Metrics
from app.ratelimit import RateLimiter
from app.requestid import RequestId
from app.secret import secret_key
from app.throttle import LoginThrottle
from app.turns import TurnRunner
from tutor.errors import TutorError
from tutor.settings import Settings

if TYPE_CHECKING:
    from sandbox import KernelPool
    from tutor.store import Store
    from tutor.tutoring.service import TutorService

# Page modules, each exposing `mount(app, ctx)`.
PAGE_MODULES = ["app.student", "app.teacher", "app.admin"]
# Routes every app has, mounted before the pages.
CORE_MODULES = ["app.signin", "app.monitoring", "app.api"]

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no outbound calls from Gradio at start


def create_app(settings: Settings, service: TutorService | None = None, *, store: Store | None = None,
               pool: KernelPool | None = None) -> FastAPI:
    """Build the app. Without `service`, one is made from settings (and closed at shutdown). `pool`,
    when the caller started the kernel pool itself, lets /healthz report its self-check."""
    settings.check_production()
    from tutor.checking import workers
    workers.configure(settings.grading.workers, settings.grading.worker_memory_mb)  # this process's checkers
    owns_service = service is None
    if store is None:
        store = getattr(service, "store", None) if service is not None else None
    if store is None:
        from tutor.store import open_store
        store = open_store(settings)
    if service is None:
        from tutor.tutoring.service import TutorService
        service = TutorService.from_settings(settings, store=store, pool=pool)

    ctx = AppContext(
        settings=settings, store=store, service=service, metrics=Metrics(),
        cookies=SessionCookies(secret_key(settings), max_age_s=settings.web.session_max_age_s,
                               secure=settings.web.cookie_secure, samesite=settings.web.cookie_samesite),
        limiter=RateLimiter({"ask": settings.web.asks_per_minute, "hint": settings.web.hints_per_minute,
                             "submit": settings.web.submits_per_minute}),
        pool=pool,
    )
    ctx.throttle = LoginThrottle(name_failures=settings.web.login_max_failures,
                                 client_failures=settings.web.login_client_failures,
                                 max_wait_s=settings.web.login_lockout_s)
    ctx.turns = TurnRunner(ctx, settings.web.max_concurrent_turns, settings.web.max_queue)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_service and hasattr(service, "close"):
            service.close()

    app = FastAPI(title="Math tutor", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    _install_error_handlers(app, ctx)
    for name in CORE_MODULES + PAGE_MODULES:
        importlib.import_module(name).mount(app, ctx)
    app.add_middleware(PageGuard, ctx=ctx)
    app.add_middleware(Edge, pages=ctx.pages, uploads=ctx.uploads)  # before anything reads a body
    app.add_middleware(RequestId)  # outermost: every answer, refusals included, carries the id its log lines have
    return app


def _wants_html(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")


def _install_error_handlers(app: FastAPI, ctx: AppContext) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if _wants_html(request):
            return RedirectResponse(ctx.login_url(request.url.path), status_code=303)
        return JSONResponse({"error": "login_required", "message": "Please sign in."}, status_code=401)

    @app.exception_handler(RoleRequired)
    async def role_required(request: Request, exc: RoleRequired) -> Response:
        if _wants_html(request):
            return HTMLResponse(_forbidden_page(), status_code=403)
        return JSONResponse({"error": "forbidden", "message": friendly("forbidden")}, status_code=403)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # JSON clients get our stable codes and friendly text; pages keep FastAPI's default answer.
        if not request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        code = "csrf" if isinstance(exc, CsrfFailed) else _HTTP_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return JSONResponse({"error": code, "message": friendly(code), "detail": detail},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(TutorError)
    async def tutor_error(_request: Request, exc: TutorError) -> Response:
        ctx.metrics.error(exc.code)
        return JSONResponse({"error": exc.code, "message": friendly(exc.code)}, status_code=exc.status)


_HTTP_CODES = {400: "unreadable", 401: "login_required", 403: "forbidden", 404: "not_found", 405: "bad_input",
               413: "too_long", 422: "unreadable", 429: "rate_limited"}


def _forbidden_page() -> str:
    return ("<!doctype html><meta charset=utf-8><title>Not allowed</title>"
            "<p>Your account may not open this page. <a href='/'>Go to your start page</a>.</p>")


class PageGuard:
    """Signed-out visitors of a mounted page are sent to /login (Gradio itself would answer a bare 401);
    signed-in users with the wrong role get 403. Gradio's own API routes are guarded by its
    auth dependency, so only the page itself needs this."""

    def __init__(self, app: ASGIApp, ctx: AppContext):
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"].rstrip("/") or "/"
            roles = self.ctx.pages.get(path)
            if roles is not None:
                user = self.ctx.current_user(HTTPConnection(scope))
                response: Response | None = None
                if user is None:
                    response = RedirectResponse(self.ctx.login_url(path + "/"), status_code=303)
                elif user.role not in roles:
                    response = HTMLResponse(_forbidden_page(), status_code=403)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
