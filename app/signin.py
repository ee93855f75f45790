"""Sign-in and sign-out: a plain HTML form (works without JavaScript), the users table via the store,
argon2 hashes checked there, a delay on every failure and a growing wait after repeated ones, per name
and per client (app.throttle), never an account lock anyone could trigger."""

from __future__ import annotations

import asyncio
import datetime as dt
import html

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.context import HOME_BY_ROLE, AppContext, safe_next
from app.cookies import CSRF_FIELD
from app.throttle import wait_text

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Math tutor</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }}
 main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: 10px;
        box-shadow: 0 2px 10px rgba(0,0,0,.08); }}
 h1 {{ font-size: 1.4rem; margin: 0 0 1.2rem; }}
 label {{ display: block; margin: .8rem 0 .3rem; font-weight: 600; }}
 input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: .55rem;
        border: 1px solid #c8ccd2; border-radius: 6px; font-size: 1rem; }}
 button {{ margin-top: 1.3rem; width: 100%; padding: .6rem; font-size: 1rem; border: 0; border-radius: 6px;
        background: #2f6fde; color: #fff; cursor: pointer; }}
 .error {{ background: #fdecea; color: #8a1c13; padding: .6rem .8rem; border-radius: 6px; }}
 .note {{ background: #eef4fd; color: #1d3f73; padding: .6rem .8rem; border-radius: 6px; }}
</style></head>
<body><main>
<h1>Math tutor</h1>
{message}
<form method="post" action="/login">
 <input type="hidden" name="{csrf_field}" value="{csrf}">
 <input type="hidden" name="next" value="{next}">
 <label for="username">User name</label>
 <input id="username" name="username" type="text" autocomplete="username" value="{username}" required autofocus>
 <label for="password">Password</label>
 <input id="password" name="password" type="password" autocomplete="current-password" required>
 <button type="submit">Sign in</button>
</form>
</main></body></html>
"""

_REASONS = {
    "bad_credentials": "That user name and password do not match. Please try again.",
    "locked": "Too many failed attempts. This account is locked for a few minutes; try again later.",
    "throttled": "Too many failed sign-ins. Please wait {wait} and try again.",
    "inactive": "This account is switched off. Please ask your teacher or administrator.",
    "csrf": "Your sign-in form expired. Please try again.",
}


def mount(app: FastAPI, ctx: AppContext) -> None:
    router = APIRouter()

    def page(request: Request, *, next_path: str, username: str = "", message: str = "",
             kind: str = "error", status: int = 200) -> Response:
        # The login form is protected by the pre-sign-in nonce (a session nonce would be replaced anyway).
        pre = None
        nonce = ctx.cookies.pre_nonce(request)
        if nonce is None:
            nonce = pre = ctx.cookies.new_nonce()
        box = f'<p class="{kind}" role="alert">{html.escape(message)}</p>' if message else ""
        body = _PAGE.format(message=box, csrf_field=CSRF_FIELD, csrf=ctx.cookies.csrf_for(nonce),
                            next=html.escape(next_path, quote=True), username=html.escape(username, quote=True))
        response = HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})
        if pre is not None:
            ctx.cookies.set_pre(response, pre)
        return response

    @router.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/", signed_out: int = 0) -> Response:
        user = ctx.current_user(request)
        if user is not None:
            return RedirectResponse(safe_next(next, HOME_BY_ROLE.get(user.role, "/")), status_code=303)
        note = "You are signed out." if signed_out else ""
        return page(request, next_path=safe_next(next), message=note, kind="note")

    @router.post("/login", include_in_schema=False)
    async def login(request: Request, username: str = Form(""), password: str = Form(""),
                    next: str = Form("/"), csrf_token: str = Form("")) -> Response:
        next_path = safe_next(next)
        nonce = ctx.cookies.pre_nonce(request)
        if not ctx.cookies.csrf_ok(nonce, csrf_token):
            ctx.metrics.logins.labels(outcome="csrf").inc()
            return page(request, next_path=next_path, username=username, message=_REASONS["csrf"], status=403)
        name = username.strip()
        client = request.client.host if request.client else "?"
        device = ctx.cookies.device_for(request, name)
        wait = ctx.throttle.wait_s(client, name, device)
        if wait > 0:
            # the password is not even checked: a guess made while waiting tells nothing, for any name
            ctx.metrics.logins.labels(outcome="throttled").inc()
            return page(request, next_path=next_path, username=username, status=429,
                        message=_REASONS["throttled"].format(wait=wait_text(wait)))
        # no account lock in the store (max_failures=0): the backoff above replaces it
        result = await asyncio.to_thread(ctx.store.login, name, password, max_failures=0)
        if not result.ok or result.user is None:
            ctx.metrics.logins.labels(outcome=result.reason).inc()
            if result.reason == "bad_credentials":
                ctx.throttle.failed(client, name, device)
            # Every failure costs the guesser time, on top of the backoff.
            await asyncio.sleep(ctx.settings.web.login_delay_s)
            message = _REASONS.get(result.reason, _REASONS["bad_credentials"])
            status = 429 if result.reason == "locked" else 401
            return page(request, next_path=next_path, username=username, message=message, status=status)
        ctx.metrics.logins.labels(outcome="ok").inc()
        ctx.throttle.succeeded(name, device)
        target = next_path if next_path != "/" else HOME_BY_ROLE.get(result.user.role, "/")
        response = RedirectResponse(target, status_code=303)
        ctx.cookies.issue(response, result.user.id, result.user.session_epoch)
        ctx.cookies.remember_device(response, request, name)
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        await ctx.check_csrf(request)
        data = ctx.cookies.read(request)
        if data is not None:
            # the cookie is refused from now on, not only deleted from this browser
            until = dt.datetime.fromtimestamp(data.issued_at + ctx.cookies.max_age_s, dt.timezone.utc)
            await asyncio.to_thread(ctx.store.sign_out, data.user_id, data.nonce, until=until)
        # a fixed relative path: never built from the request's Host or X-Forwarded-Host
        response = RedirectResponse("/login?signed_out=1", status_code=303)
        ctx.cookies.clear(response)
        return response

    @router.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        user = ctx.current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse(HOME_BY_ROLE.get(user.role, "/tutor/"), status_code=303)

    app.include_router(router)
