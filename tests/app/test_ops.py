"""Operations: /healthz reports the store (writes included), the sandbox self-check and the backend, in
detail to admins only; /metrics (admins or the scrape token) counts turns, rounds, tokens, latencies, code
runs and errors; `mathtutor serve` migrates, makes the first admin once and serves; production needs an
explicit secret."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import pytest

from tests.fixtures.web import PASSWORD, PROBLEM, free_port, sign_in

MATHTUTOR = [sys.executable, "-c", "from tutor.cli import main; main()"]
TOKEN = "metrics-scrape-token"


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" ([0-9.e+-]+)"
    m = re.search(pattern, text)
    assert m, f"{name}{{{want}}} not in /metrics"
    return float(m.group(1))


def test_healthz_tells_the_public_only_the_status_and_admins_the_details(live_server):
    public = httpx.get(live_server.url + "/healthz")
    assert public.status_code == 200 and public.json() == {"status": "ok"}
    live_server.user("root", "admin")
    live_server.user("ada")
    with live_server.client() as student:
        sign_in(student, "ada")
        assert student.get("/healthz").json() == {"status": "ok"}
    with live_server.client() as admin:
        sign_in(admin, "root")
        body = admin.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["store"]["ok"] and body["store"]["writable"] and body["store"]["dialect"] == "sqlite"
    assert "url" not in body["store"]
    assert body["sandbox"]["ok"] is True
    assert body["sandbox"]["self_check"]["ok"] is True          # the shared pool has run its self-check
    assert body["backend"]["name"] == "scripted" and body["backend"]["loaded"] is True


def _admin_health(web) -> tuple[int, dict]:
    if web.store.user_by_name("root") is None:
        web.store.create_user("root", "admin", password=PASSWORD)
    with web.client() as admin:
        sign_in(admin, "root")
        r = admin.get("/healthz")
        return r.status_code, r.json()


def test_healthz_is_503_when_the_schema_is_gone_or_the_model_server_is_down(web_factory):
    web = web_factory(backend="openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    status, body = _admin_health(web)
    assert status == 503 and httpx.get(web.url + "/healthz").json() == {"status": "degraded"}
    assert body["backend"]["reachable"] is False and body["store"]["ok"] is True
    web2 = web_factory()
    web2.user("root", "admin")
    with web2.client() as admin:
        sign_in(admin, "root")
        web2.store.downgrade("base")
        r = httpx.get(web2.url + "/healthz")
        assert r.status_code == 503 and r.json() == {"status": "degraded"}
        # an admin's cookie cannot be checked without the users table: still a 503, never a 500
        assert admin.get("/healthz").status_code == 503


@pytest.mark.postgres
def test_healthz_is_503_when_the_database_refuses_writes(web_factory):
    """A database that still answers reads but refuses writes (a read-only replica, a full disk)."""
    import psycopg

    from tests.fixtures.db import _pg_admin_conninfo, create_pg_database, drop_pg_database
    name, url = create_pg_database()
    try:
        web = web_factory(database_url=url)
        web.user("root", "admin")
        with web.client() as admin:
            sign_in(admin, "root")    # signing in writes; afterwards the admin only reads
            assert admin.get("/healthz").status_code == 200
            with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            web.store.engine.dispose()   # new connections get the database's new default
            r = admin.get("/healthz")
        body = r.json()
        assert r.status_code == 503 and body["store"]["ok"] is False and body["store"]["writable"] is False
        assert "read-only" in body["store"]["error"]
        assert body["store"]["revision"] == body["store"]["head"]      # reads still work: only writes fail
        web.store.close()
    finally:
        drop_pg_database(name)


def test_metrics_need_an_admin_or_the_scrape_token(web_factory):
    web = web_factory(web_metrics_token="scrape-token-1234")
    web.user("ada")
    web.user("root", "admin")
    assert httpx.get(web.url + "/metrics").status_code == 401
    assert httpx.get(web.url + "/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(web.url + "/metrics", headers={"authorization": "Bearer scrape-token-1234"}).status_code == 200
    with web.client() as student:
        sign_in(student, "ada")
        assert student.get("/metrics").status_code == 403
    with web.client() as admin:
        sign_in(admin, "root")
        assert "mathtutor_logins_total" in admin.get("/metrics").text


def test_metrics_count_a_solved_turn(web_factory):
    web = web_factory(web_metrics_token=TOKEN)
    web.user("ada", solve=True)
    with web.client() as c:
        token = sign_in(c, "ada")
        r = c.post("/api/sessions", json={"question": PROBLEM, "mode": "solve"}, headers={"x-csrf-token": token})
        assert r.status_code == 200 and '"kind": "done"' in r.text
        text = c.get("/metrics", headers={"authorization": "Bearer " + TOKEN}).text
    assert metric(text, "mathtutor_turns_total", action="start", outcome="ok") == 1
    assert metric(text, "mathtutor_rounds_total") == 2
    assert metric(text, "mathtutor_code_runs_total") == 1
    assert metric(text, "mathtutor_tokens_total", direction="in") > 0
    assert metric(text, "mathtutor_tokens_total", direction="out") > 0
    assert metric(text, "mathtutor_turn_seconds_count", action="start") == 1
    assert metric(text, "mathtutor_first_event_seconds_count", action="start") == 1
    assert metric(text, "mathtutor_logins_total", outcome="ok") == 1
    assert metric(text, "mathtutor_active_turns") == 0


def _serve(tmp_path: Path, port: int, **env: str) -> subprocess.Popen:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"default": "The answer is $\\boxed{7}$."}))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MATHTUTOR_")}
    full_env.update(MATHTUTOR_DATA_DIR=str(tmp_path / "data"), MATHTUTOR_BACKEND=f"scripted:{script}",
                    MATHTUTOR_SANDBOX_WARM_KERNELS="0", MATHTUTOR_STORE_ARGON2_TIME_COST="1",
                    MATHTUTOR_STORE_ARGON2_MEMORY_KIB="1024", **env)
    return subprocess.Popen([*MATHTUTOR, "serve", "--port", str(port)], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_up(proc: subprocess.Popen, port: int) -> str:
    """Read the server's output until it answers /healthz; returns what it printed."""
    out = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            raise AssertionError("serve exited:\n" + "".join(out))
        out.append(line)
        if "Math tutor on" in line:
            break
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code in (200, 503):
                return "".join(out)
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError("serve did not answer:\n" + "".join(out))


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.kernel   # the served app starts its kernel pool
def test_serve_migrates_creates_the_first_admin_once_and_serves(tmp_path):
    port = free_port()
    proc = _serve(tmp_path, port)
    try:
        printed = _wait_up(proc, port)
        m = re.search(r"user name: (\S+)\s+password:\s+(\S+)", printed)
        assert m, printed
        name, password = m.groups()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            page = c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            r = c.post("/login", data={"username": name, "password": password, "csrf_token": token})
            assert r.status_code == 303 and r.headers["location"] == "/admin/"
            health = c.get("/healthz").json()
        assert health["store"]["ok"] and health["sandbox"]["self_check"]["ok"] is True
        key = tmp_path / "data" / "secret_key"          # no key was set: one was generated, owner-only
        assert key.stat().st_mode & 0o777 == 0o600
    finally:
        _stop(proc)
    # a second start finds the admin and prints no credentials
    proc = _serve(tmp_path, port)
    try:
        printed = _wait_up(proc, port)
        assert "password:" not in printed
    finally:
        _stop(proc)


@pytest.mark.kernel   # the served app starts its kernel pool
def test_serve_takes_the_admin_password_from_the_environment_and_refuses_a_default_secret(tmp_path):
    r = subprocess.run([*MATHTUTOR, "serve"], capture_output=True, text=True, timeout=120,
                       env={**{k: v for k, v in os.environ.items() if not k.startswith("MATHTUTOR_")},
                            "MATHTUTOR_ENV": "production", "MATHTUTOR_DATA_DIR": str(tmp_path / "p")})
    assert r.returncode != 0 and "MATHTUTOR_SECRET_KEY" in r.stderr
    port = free_port()
    proc = _serve(tmp_path, port, MATHTUTOR_ADMIN_PASSWORD="a long admin password 42", MATHTUTOR_ADMIN_NAME="root")
    try:
        printed = _wait_up(proc, port)
        assert "password:" not in printed
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
            r = c.post("/login", data={"username": "root", "password": "a long admin password 42",
                                       "csrf_token": token})
            assert r.status_code == 303
    finally:
        _stop(proc)


@pytest.mark.kernel   # the served app starts its kernel pool
def test_healthz_is_503_when_the_database_file_cannot_grow(tmp_path):
    """SQLite on a full disk: reads still work, every commit fails. A file-size limit of one byte on the
    running server makes each write fail exactly as a full disk does (the kernels, its children, keep theirs)."""
    import resource
    port = free_port()
    proc = _serve(tmp_path, port)
    try:
        _wait_up(proc, port)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        soft, hard = resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (1, resource.prlimit(proc.pid, resource.RLIMIT_FSIZE)[1]))
        r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        assert r.status_code == 503 and r.json() == {"status": "degraded"}
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (soft, hard))
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200   # and it recovers
    finally:
        _stop(proc)
