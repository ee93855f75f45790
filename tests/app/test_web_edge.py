"""The web edge over real HTTP: state changes only from our own origin (Gradio's routes included), no
credentialed CORS, no redirect built from X-Forwarded-Host, bodies capped before anything reads them,
no uploads where a page takes no files, and a Content-Security-Policy on every page."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from tests.app.test_security import gradio_call
from tests.fixtures.web import sign_in


def _join(client, origin: str | None):
    """POST queue/join with this Origin (None: no Origin header at all)."""
    request = client.build_request("POST", "/tutor/gradio_api/queue/join",
                                   json={"data": [], "fn_index": 0, "session_hash": uuid.uuid4().hex[:10]})
    del request.headers["origin"]
    if origin is not None:
        request.headers["origin"] = origin
    return client.send(request)


def test_gradio_state_changes_need_our_origin(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        sign_in(c, "ada")
        assert _join(c, None).status_code == 403                                # no Origin at all
        assert _join(c, "null").status_code == 403                              # a sandboxed frame, a data: URL
        assert _join(c, "http://evil.example").status_code == 403
        assert _join(c, live_server.url).status_code == 200
        # our own JSON API carries CSRF tokens, but `Origin: null` is refused there too
        token = c.get("/api/me").json()["csrf_token"]
        r = c.post("/api/sessions", json={"question": "1+1"}, headers={"origin": "null", "x-csrf-token": token})
        assert r.status_code == 403


@pytest.mark.parametrize("origin", ["http://localhost:9999", "http://127.0.0.1:1", "null", "http://evil.example"])
def test_no_credentialed_cors_for_other_origins(live_server, origin):
    live_server.user("ada")
    with live_server.client() as c:
        sign_in(c, "ada")
        preflight = c.options("/tutor/gradio_api/queue/join",
                              headers={"origin": origin, "access-control-request-method": "POST"})
        simple = c.get("/tutor/config", headers={"origin": origin})
        for r in (preflight, simple):
            allowed = {k.lower() for k in r.headers if k.lower().startswith("access-control-allow-")}
            assert allowed == set(), (r.request.method, dict(r.headers))


def test_redirects_never_follow_x_forwarded_host(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        token = sign_in(c, "ada")
        for header in ("x-forwarded-host", "x-gradio-server"):
            value = "evil.example" if header == "x-forwarded-host" else "http://evil.example"
            evil = {header: value, "origin": live_server.url}
            gradio_logout = c.get("/tutor/logout", headers=evil)
            assert "evil.example" not in gradio_logout.headers.get("location", ""), header
            assert "evil.example" not in c.get("/tutor/config", headers=evil).text, header
        r = c.post("/logout", data={"csrf_token": token}, headers=evil)
        assert r.status_code == 303 and r.headers["location"] == "/login?signed_out=1"


def _raw_post(port: int, path: str, headers: dict[str, str], body: bytes = b"", method: str = "POST"
              ) -> tuple[int, float]:
    """Send a request by hand (the declared length may be a lie); the status line and the seconds it took."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        s.sendall(head.encode() + body)
        reply = b""
        while b"\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1]), time.monotonic() - start


@pytest.mark.parametrize("path", ["/api/sessions", "/login", "/tutor/gradio_api/queue/join", "/logout"])
def test_a_300_mb_body_is_refused_before_it_is_read(live_server, path):
    # only 1 KiB of the declared 300 MB is ever sent: an answer proves nothing waited for the rest
    status, seconds = _raw_post(live_server.server.port, path,
                                {"content-type": "application/json", "content-length": str(300 * 1024 * 1024),
                                 "origin": live_server.url}, b"{" + b" " * 1023)
    assert status == 413 and seconds < 20


def test_a_huge_body_on_a_read_is_refused_too(live_server):
    status, _ = _raw_post(live_server.server.port, "/api/me", {"content-length": str(300 * 1024 * 1024)},
                          b"x" * 1024, method="GET")
    assert status == 413


def test_a_chunked_body_is_cut_off_at_the_cap(live_server):
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"   # 1.25 MiB
    status, _ = _raw_post(live_server.server.port, "/api/sessions",
                          {"content-type": "application/json", "transfer-encoding": "chunked"}, body)
    assert status == 413


def test_students_cannot_upload_files(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        sign_in(c, "ada")
        for path in ("/tutor/gradio_api/upload", "/tutor/upload", "/teacher/gradio_api/upload"):
            r = c.post(path, files={"files": ("x.png", b"\x89PNG" + b"0" * 1000, "image/png")},
                       headers={"origin": live_server.url})
            assert r.status_code == 403, (path, r.status_code, r.text[:200])


def test_admins_upload_a_roster_but_not_a_huge_one(live_server):
    live_server.user("root", "admin")
    with live_server.client() as c:
        sign_in(c, "root")
        own = {"origin": live_server.url}
        ok = c.post("/admin/gradio_api/upload", headers=own,
                    files={"files": ("roster.csv", b"name,role\nada,student\n", "text/csv")})
        assert ok.status_code == 200, ok.text[:300]
        big = c.post("/admin/gradio_api/upload", headers=own,
                     files={"files": ("roster.csv", b"name,role\n" + b"a" * (3 * 1024 * 1024), "text/csv")})
        assert big.status_code == 413


def test_every_page_sends_a_content_security_policy(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        login = c.get("/login")
        sign_in(c, "ada")
        page = c.get("/tutor/")
        for r in (login, page, c.get("/api/me")):
            csp = r.headers["content-security-policy"]
            for directive in ("default-src 'self'", "img-src 'self' data: blob:", "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
                              "font-src 'self' data:", "style-src 'self' 'unsafe-inline'", "frame-ancestors 'none'"):
                assert directive in csp, (r.url, csp)
        # and the student page still works under it (its scripts and styles are the app's own)
        assert gradio_call(c, "on_load", [])[-1]["msg"] == "process_completed"


@pytest.mark.browser
@pytest.mark.slow
def test_the_student_page_runs_under_the_policy_and_loads_no_image_from_student_text(web_factory, browser_page):
    """A Markdown image in a question would make every reader's browser (the teacher's too) fetch its URL:
    it is shown as text, and the policy would block it anyway. The page itself breaks no rule of the policy."""
    import http.server
    import threading

    from tests.fixtures.web import browser_sign_in, free_port
    hits: list[str] = []

    class Pixel(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    tracker = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Pixel)
    threading.Thread(target=tracker.serve_forever, daemon=True).start()
    try:
        web = web_factory()
        web.user("ada", solve=True)
        page = browser_page
        violations: list[str] = []
        page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
        browser_sign_in(page, web.url, "ada")
        page.wait_for_selector("#mt-user >> text=Signed in as")
        image = f"![pixel](http://127.0.0.1:{tracker.server_port}/pixel.png)"
        page.locator("#mt-mode").get_by_text("Solve it for me").click()
        page.locator("#mt-question textarea").fill(f"Look {image} then solve 2x + 3 = 17.")
        page.locator("#mt-start").click()
        page.wait_for_selector("#mt-chat >> text=the answer is", timeout=60_000)
        chat = page.locator("#mt-chat")
        assert chat.locator("img[src*='pixel']").count() == 0
        assert "!pixel" in chat.inner_text().replace("\n", "")
        assert chat.locator(".katex").count() >= 1                    # math still renders under the policy
        assert hits == [] and violations == [], (hits, violations)
    finally:
        tracker.shutdown()
