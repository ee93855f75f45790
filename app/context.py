"""What every page and route of the web app shares: settings, store, service, metrics, and the
helpers that decide who is asking (signed cookie -> user), what they may do (roles) and whether a
state-changing request really came from our own page (CSRF).

Page modules get one `AppContext` in `mount(app, ctx)`. Gradio pages are mounted with
`auth_dependency=ctx.gradio_auth_dependency(roles)`; their handlers call `ctx.user_from_gradio(request)`
to get the user again on every event, so a deactivated account stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from fastapi import HTTPException, Request
from starlette.requests import HTTPConnection

from app.cookies import CSRF_FIELD, CSRF_HEADER, SessionCookies
from app.metrics import Metrics
from app.ratelimit import RateLimiter
from tutor.errors import Forbidden, NotFound
from tutor.settings import Settings

ALL_ROLES = ("student", "teacher", "admin")
HOME_BY_ROLE = {"student": "/tutor/", "teacher": "/teacher/", "admin": "/admin/"}
_USER_KEY = "mathtutor_user"


class LoginRequired(Exception):
    """No valid sign-in: HTML GETs are sent to /login, everything else gets 401."""


class RoleRequired(Exception):
    """Signed in, but with a role that may not use this page or route (403)."""

    def __init__(self, roles: tuple[str, ...]):
        super().__init__(f"needs role {' or '.join(roles)}")
        self.roles = roles


class CsrfFailed(HTTPException):
    """A state-changing request without this browser's CSRF token (403; pages say "reload")."""

    def __init__(self) -> None:
        super().__init__(status_code=403, detail="missing or wrong CSRF token; reload the page and try again")


@dataclass
class AppContext:
    settings: Settings
    store: Any
    service: Any
    metrics: Metrics
    cookies: SessionCookies
    limiter: RateLimiter
    # Mounted page prefixes -> roles allowed there; the page guard middleware reads it.
    pages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # app.turns.TurnRunner: runs tutor actions off the event loop under one concurrency limit.
    turns: Any = None
    # The kernel pool when the caller made it (`mathtutor serve`): /healthz reports its self-check.
    pool: Any = None
    # Mounted page prefixes -> the largest file they accept; pages not named here take no uploads.
    uploads: dict[str, int] = field(default_factory=dict)
    # app.throttle.LoginThrottle: sign-in backoff per name and per client.
    throttle: Any = None

    # --- who is asking ----------------------------------------------------------------------------
    def current_user(self, conn: HTTPConnection) -> Any | None:
        """The signed-in, active user of this request, or None. Cached on the request."""
        state = conn.scope.setdefault("state", {})
        if _USER_KEY in state:
            return state[_USER_KEY]
        user = None
        data = self.cookies.read(conn)
        if data is not None:
            # the store says whether this cookie still holds (signed out? password changed since?)
            user = self.store.session_user(data.user_id, data.epoch, data.nonce)
        state[_USER_KEY] = user
        return user

    def load_user(self, user_id: int) -> Any | None:
        try:
            user = self.store.get_user(user_id)
        except NotFound:
            return None
        if not user.active:
            return None
        return user

    def require(self, *roles: str) -> Callable[[Request], Awaitable[Any]]:
        """FastAPI dependency: the current user if their role is one of `roles` (all roles if none)."""
        allowed = roles or ALL_ROLES

        async def dependency(request: Request) -> Any:
            user = self.current_user(request)
            if user is None:
                raise LoginRequired()
            if user.role not in allowed:
                raise RoleRequired(allowed)
            return user

        return dependency

    def own_session(self, user_id: int, session_id: int) -> Any:
        """The session if it belongs to this user; NotFound otherwise (never reveal that it exists)."""
        try:
            record = self.store.get_session(session_id)
        except NotFound:
            record = None
        if record is None or record.user_id != user_id:
            raise NotFound("no such session")
        return record

    # --- CSRF ----------------------------------------------------------------------------------------
    def csrf_token(self, conn: HTTPConnection) -> str:
        """The token this browser must send back with a state-changing request ('' if it has none yet)."""
        data = self.cookies.read(conn)
        nonce = data.nonce if data is not None else self.cookies.pre_nonce(conn)
        return self.cookies.csrf_for(nonce) if nonce else ""

    async def check_csrf(self, request: Request) -> None:
        """Raise 403 unless the request carries this browser's token (header, or form field for forms)."""
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        data = self.cookies.read(request)
        nonce = data.nonce if data is not None else self.cookies.pre_nonce(request)
        if not self.cookies.csrf_ok(nonce, token):
            raise CsrfFailed()

    async def csrf_protect(self, request: Request) -> None:
        """FastAPI dependency form of `check_csrf`."""
        await self.check_csrf(request)

    # --- Gradio pages --------------------------------------------------------------------------------
    def protect_page(self, path: str, roles: tuple[str, ...], *, max_upload_bytes: int = 0) -> None:
        """Mark a mounted page: signed-out visitors are redirected to /login, wrong roles get 403.
        `max_upload_bytes`: the largest file the page takes (0: its upload routes are refused)."""
        self.pages[path.rstrip("/") or "/"] = roles
        if max_upload_bytes > 0:
            self.uploads[path.rstrip("/") or "/"] = max_upload_bytes

    def gradio_auth_dependency(self, roles: tuple[str, ...] = ALL_ROLES) -> Callable[[Request], str | None]:
        """For `gr.mount_gradio_app(auth_dependency=...)`: the user id as a string, or None (401)."""

        def dependency(request: Request) -> str | None:
            user = self.current_user(request)
            if user is None or user.role not in roles:
                return None
            return str(user.id)

        return dependency

    def user_from_gradio(self, request: Any, roles: tuple[str, ...] = ALL_ROLES) -> Any:
        """The user behind a Gradio event (gr.Request), checked again against the store."""
        username = getattr(request, "username", None) if request is not None else None
        try:
            user = self.load_user(int(username)) if username else None
        except ValueError:
            user = None
        if user is None or user.role not in roles:
            raise Forbidden("not signed in")
        return user

    def login_url(self, next_path: str) -> str:
        return "/login?next=" + quote(next_path, safe="/")


def safe_next(path: str | None, default: str = "/") -> str:
    """Only local paths: never let ?next= send a user to another site."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path
