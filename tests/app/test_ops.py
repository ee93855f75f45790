"""Operations: /healthz reports the store, the sandbox self-check and the backend; /metrics counts
turns, rounds, tokens, latencies, code runs and errors; `mathtutor serve` migrates, makes the first
admin once and serves; production refuses the default secret."""

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

from tests.fixtures.web import PROBLEM, free_port, sign_in

MATHTUTOR = [sys.executable, "-c", "from tutor.cli import main; main()"]


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" ([0-9.e+-]+)"
    m = re.search(pattern, text)
    assert m, f"{name}{{{want}}} not in /metrics"
    return float(m.group(1))


def test_healthz_reports_store_sandbox_and_backend(live_server):
    body = httpx.get(live_server.url + "/healthz").json()
    assert body["status"] == "ok"
    assert body["store"]["ok"] and body["store"]["dialect"] == "sqlite" and "url" not in body["store"]
    assert body["sandbox"]["ok"] is True
    assert body["sandbox"]["self_check"]["ok"] is True          # the shared pool has run its self-check
    assert body["backend"]["name"] == "scripted" and body["backend"]["loaded"] is True


def test_healthz_is_503_when_the_schema_is_gone_or_the_model_server_is_down(web_factory):
    web = web_factory(backend="openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    r = httpx.get(web.url + "/healthz")
    assert r.status_code == 503
    assert r.json()["backend"]["reachable"] is False and r.json()["store"]["ok"] is True
    web2 = web_factory()
    web2.store.downgrade("base")
    r = httpx.get(web2.url + "/healthz")
    assert r.status_code == 503 and r.json()["store"]["ok"] is False


def test_metrics_count_a_solved_turn(web_factory):
    web = web_factory()
    web.user("ada", solve=True)
    with web.client() as c:
        token = sign_in(c, "ada")
        r = c.post("/api/sessions", json={"question": PROBLEM, "mode": "solve"}, headers={"x-csrf-token": token})
        assert r.status_code == 200 and '"kind": "done"' in r.text
        text = c.get("/metrics").text
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
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["store"]["ok"] and health["sandbox"]["self_check"]["ok"] is True
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            page = c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            r = c.post("/login", data={"username": name, "password": password, "csrf_token": token})
            assert r.status_code == 303 and r.headers["location"] == "/admin/"
    finally:
        _stop(proc)
    # a second start finds the admin and prints no credentials
    proc = _serve(tmp_path, port)
    try:
        printed = _wait_up(proc, port)
        assert "password:" not in printed
    finally:
        _stop(proc)


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
