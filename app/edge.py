"""The web edge: what every request passes before any route parses it, and what every answer carries.

- Bodies are capped before anything reads them: a declared length over the cap is refused at once,
  an undeclared (chunked) one as soon as it passes the cap. Uploads have their own cap, only on pages
  that take files; elsewhere Gradio's upload routes are refused outright.
- State changes must come from our own origin. Gradio's routes know nothing of our CSRF tokens, so
  there the browser's Origin header is required; `Origin: null` (sandboxed frames, data: URLs) is
  refused everywhere.
- `X-Forwarded-Host` (and Gradio's own `X-Gradio-Server`) is dropped: Gradio builds redirects and its
  API root from it, which would let a request steer a user's browser to another host.
- Answers get a Content-Security-Policy that lets the page load scripts, styles, images and fonts only
  from this app, and no `Access-Control-Allow-*` header (Gradio grants credentialed CORS to some
  origins; we serve no other origin).
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024          # forms, JSON and Gradio events: the longest question is 4000 characters
UPLOAD_OVERHEAD_BYTES = 64 * 1024     # multipart headers around an uploaded file
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_FILE_ROUTES = ("/upload", "/process_recording")
# Gradio builds its root URL (redirects, the page's API address) from the first one it finds of these
_DROPPED_REQUEST_HEADERS = {b"x-forwarded-host", b"x-forwarded-server", b"x-gradio-server"}

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    # Gradio's page puts its config in inline scripts and styles, and its HTML components render their
    # templates with `new Function`; what matters here is that nothing may come from elsewhere
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
_HEADERS = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin")]


class BodyTooLarge(Exception):
    pass


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers={"connection": "close"})


class Edge:
    """Outermost middleware. `pages` maps a mounted Gradio page's path to the roles allowed there (its
    POST routes need our Origin); `uploads` maps a page's path to the largest file it accepts (pages
    not named there take no files). Both are read per request, so pages mounted later count."""

    def __init__(self, app: ASGIApp, *, pages: dict[str, Any], uploads: dict[str, int],
                 max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.pages = pages
        self.uploads = uploads
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers") or [] if k not in _DROPPED_REQUEST_HEADERS]
        scope = {**scope, "headers": headers}
        send = _with_headers(send)
        found = dict(headers)
        path = scope["path"]
        page = self._page_of(path)
        # reads change nothing; their bodies (a GET may carry one) are capped all the same
        refusal = None if scope["method"] in _SAFE_METHODS else self._origin_refusal(found, page is not None)
        limit = self.max_body
        if refusal is None and page is not None and path.endswith(_FILE_ROUTES):
            if page not in self.uploads:
                refusal = _refuse(403, "forbidden", "This page takes no files.")
            else:
                limit = self.uploads[page] + UPLOAD_OVERHEAD_BYTES
        if refusal is None:
            declared = found.get(b"content-length")
            try:
                too_big = declared is not None and int(declared) > limit
            except ValueError:
                refusal = _refuse(400, "unreadable", "Bad Content-Length.")
                too_big = False
            if too_big:
                refusal = _too_large(limit)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self._capped(scope, receive, send, limit)

    async def _capped(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app with a receive that stops at `limit` bytes (for bodies without a declared length).
        The 413 goes out the moment the cap is passed: whatever the app answers after (FastAPI turns
        the interrupted read into a 400) is dropped."""
        seen = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not started and not refused:
                        refused = True
                        await _too_large(limit)(scope, receive, send)
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            pass

    def _page_of(self, path: str) -> str | None:
        for prefix in self.pages:
            if prefix != "/" and (path == prefix or path.startswith(prefix + "/")):
                return prefix
        return None

    @staticmethod
    def _origin_refusal(headers: dict[bytes, bytes], gradio: bool) -> JSONResponse | None:
        origin = headers.get(b"origin", b"").decode("latin-1").strip()
        host = headers.get(b"host", b"").decode("latin-1")
        if not origin:
            # our own forms and API carry CSRF tokens; Gradio's routes have only this check
            if gradio:
                return _refuse(403, "forbidden", "This request must come from the tutor's own page.")
            return None
        if origin == "null" or urlsplit(origin).netloc != host:
            return _refuse(403, "forbidden", "Cross-site requests are not allowed.")
        return None


def _too_large(limit: int) -> JSONResponse:
    return _refuse(413, "too_long", f"The request is larger than this server accepts ({limit // 1024} KiB).")


def _with_headers(send: Send) -> Callable[[Message], Any]:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-allow-")]
            names = {k.lower() for k, _ in kept}
            message = {**message, "headers": kept + [(k, v) for k, v in _HEADERS if k not in names]}
        await send(message)
    return send_with_headers
