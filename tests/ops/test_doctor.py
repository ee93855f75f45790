"""`mathtutor doctor`: every part gets a verdict with its fix, the exit status is non-zero when one fails,
and each check notices the real fault: a production install without a key, a key file others can read,
an unreachable database, a model server that is down or serves another model, a port another program
holds; with a real sandbox the layers and the self-check are reported."""

from __future__ import annotations

import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from tests.fixtures.tiny_model import free_port
from tutor.cli import main
from tutor.ops.doctor import doctor
from tutor.ops.gpu import Gpu
from tutor.settings import load_settings


def run_doctor(*args: str):
    result = CliRunner().invoke(main, ["doctor", "--json", "--no-sandbox", *args])
    return result.exit_code, json.loads(result.output)


def parts(report) -> dict[str, dict]:
    checks = report["checks"] if isinstance(report, dict) else [c.__dict__ for c in report.checks]
    return {c["part"]: c for c in checks}


@pytest.fixture
def quiet_port(monkeypatch):
    """A free port for the listening check, so a developer's running server does not change the verdict."""
    port = free_port()
    monkeypatch.setenv("MATHTUTOR_PORT", str(port))
    monkeypatch.setenv("MATHTUTOR_BACKEND", "scripted")
    return port


def test_a_fresh_development_install_has_no_failure_and_says_what_is_missing(quiet_port):
    code, report = run_doctor()
    assert code == 0, report
    p = parts(report)
    assert p["store"]["status"] == "warn" and "blank" in p["store"]["detail"] and "mathtutor serve" in p["store"]["fix"]
    assert p["disk"]["status"] in ("ok", "warn") and "free of" in p["disk"]["detail"]
    assert p["model"]["status"] == "warn" and "no real model" in p["model"]["detail"]
    assert p["secret key"]["status"] == "ok" and "first start generates" in p["secret key"]["detail"]
    assert p["listen"]["status"] == "ok" and f"127.0.0.1:{quiet_port} is free" in p["listen"]["detail"]
    assert p["tls"]["status"] == "ok"
    assert p["sandbox"]["status"] == "warn"         # --no-sandbox: said, not skipped silently


def test_production_without_a_key_fails_with_exit_status_one(quiet_port, monkeypatch):
    monkeypatch.setenv("MATHTUTOR_ENV", "production")
    monkeypatch.setenv("MATHTUTOR_HOST", "0.0.0.0")
    code, report = run_doctor()
    assert code == 1 and report["status"] == "fail"
    p = parts(report)
    assert p["secret key"]["status"] == "fail" and "MATHTUTOR_SECRET_KEY" in p["secret key"]["fix"]
    assert p["tls"]["status"] == "warn" and "MATHTUTOR_WEB_COOKIE_SECURE=true" in p["tls"]["fix"]
    result = CliRunner().invoke(main, ["doctor", "--no-sandbox"])
    assert result.exit_code == 1 and "FAIL  secret key" in result.output and "fix: set MATHTUTOR_SECRET_KEY" in result.output


def test_the_generated_key_file_is_recognised_and_a_readable_one_warned_about(quiet_port, tmp_path):
    from app.secret import secret_key
    settings = load_settings()
    secret_key(settings)                            # what the app does on first start
    p = parts(doctor(settings, sandbox=False))
    assert p["secret key"]["status"] == "ok" and "generated on first start" in p["secret key"]["detail"]
    os.chmod(settings.data_dir / "secret_key", 0o644)
    p = parts(doctor(settings, sandbox=False))
    assert p["secret key"]["status"] == "warn" and "chmod 600" in p["secret key"]["fix"]


def test_an_unreachable_database_fails(quiet_port):
    settings = load_settings(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
                             store_retry_deadline_s=0.5)
    p = parts(doctor(settings, sandbox=False))
    assert p["store"]["status"] == "fail"
    assert "database server" in p["store"]["fix"] or "MATHTUTOR_DATABASE_URL" in p["store"]["fix"]


class ModelsServer:
    """A real HTTP server answering /v1/models as an OpenAI-compatible server does."""

    def __init__(self, models: list[str]):
        body = json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in models]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/v1/models" else 404)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_the_model_server_is_asked_which_model_it_serves(quiet_port):
    down = load_settings(backend="openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    p = parts(doctor(down, sandbox=False))
    assert p["model server"]["status"] == "fail" and "does not answer" in p["model server"]["detail"]
    assert p["gpu"]["status"] == "ok" and "not needed here" in p["gpu"]["detail"]

    server = ModelsServer(["deepseek-math-7b-instruct.Q4_K_M.gguf"])
    try:
        other = load_settings(backend="openai", openai_base_url=server.url, model="some/other-model")
        p = parts(doctor(other, sandbox=False))
        assert p["model server"]["status"] == "warn"
        assert "MATHTUTOR_MODEL=deepseek-math-7b-instruct.Q4_K_M.gguf" in p["model server"]["fix"]
        same = load_settings(backend="openai", openai_base_url=server.url, model="deepseek-math-7b-instruct.Q4_K_M.gguf")
        p = parts(doctor(same, sandbox=False))
        assert p["model server"]["status"] == "ok" and "serves deepseek-math-7b-instruct.Q4_K_M.gguf" in p["model server"]["detail"]
    finally:
        server.close()


def test_a_port_held_by_another_program_fails_the_listening_check(quiet_port):
    with socket.socket() as s:
        s.bind(("127.0.0.1", quiet_port))
        s.listen()
        p = parts(doctor(load_settings(), sandbox=False))
    assert p["listen"]["status"] == "fail" and "another program" in p["listen"]["detail"]


def test_transformers_backend_reports_the_model_check_and_the_missing_gpu(quiet_port, format_model_dir):
    settings = load_settings(backend="transformers", model=str(format_model_dir))
    p = parts(doctor(settings, sandbox=False, gpus=[]))       # as on a machine without a GPU
    assert p["model tokenizer"]["status"] == "ok" and p["model weights"]["status"] == "ok"
    assert p["gpu"]["status"] == "warn" and "far too slow" in p["gpu"]["detail"]
    assert "model gpu" not in p            # the GPU has one line of its own
    cuda = load_settings(backend="transformers", model=str(format_model_dir), device="cuda")
    assert parts(doctor(cuda, sandbox=False, gpus=[]))["gpu"]["status"] == "fail"
    big = [Gpu(0, "H200", 141 * 1024 ** 3, 139 * 1024 ** 3)]
    p = parts(doctor(settings, sandbox=False, gpus=big))
    assert p["gpu"]["status"] == "ok" and "GPU 0 H200: 139.0 GiB free" in p["gpu"]["detail"]


@pytest.mark.kernel
def test_the_sandbox_layers_and_self_check_are_reported_from_a_real_kernel(quiet_port):
    p = parts(doctor(load_settings(), sandbox=True))
    for layer in ("bwrap", "namespaces", "rlimits"):
        assert p[f"sandbox {layer}"]["status"] == "ok"
    assert p["sandbox self-check"]["status"] == "ok" and "escape attempts refused" in p["sandbox self-check"]["detail"]
