"""Real processes for the replica tests and bench: scripted model servers and `mathtutor serve` replicas,
each on a free loopback port, stopped (or killed) by the caller."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.fixtures.tiny_model import free_port

HERE = Path(__file__).resolve().parent
MATHTUTOR = [sys.executable, "-c", "from tutor.cli import main; main()"]
SECRET = "replica-test-secret-0123456789abcdef0123456789"


@dataclass
class Proc:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: nothing in the process gets to clean up (a machine that lost power)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(proc: Proc, path: str, *, ok=(200,), deadline_s: float = 240.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.proc.poll() is not None:
            raise AssertionError(f"{proc.proc.args} exited:\n" + proc.log.read_text())
        try:
            if httpx.get(proc.url + path, timeout=5).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{proc.url}{path} did not answer:\n" + proc.log.read_text())


def model_server(tmp: Path, rules: list[dict], name: str) -> Proc:
    script = tmp / f"{name}.json"
    script.write_text(json.dumps(rules))
    port, log = free_port(), tmp / f"{name}.log"
    proc = subprocess.Popen([sys.executable, str(HERE / "model_server.py"), str(port), str(script)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    server = Proc(proc, port, log)
    wait_for(server, "/v1/models")
    return server


def completions(server: Proc) -> int:
    return int(httpx.get(server.url + "/v1/stats", timeout=5).json()["completions"])


def replica(tmp: Path, name: str, database_url: str, model_urls: list[str], **env: str) -> Proc:
    """`mathtutor serve` on its own data dir (its own kernels), the shared database and model servers."""
    port, log = free_port(), tmp / f"{name}.log"
    full = {k: v for k, v in os.environ.items() if not k.startswith("MATHTUTOR_")}
    full.update(MATHTUTOR_DATA_DIR=str(tmp / name), MATHTUTOR_PORT=str(port), MATHTUTOR_DATABASE_URL=database_url,
                MATHTUTOR_SECRET_KEY=SECRET, MATHTUTOR_BACKEND="openai", MATHTUTOR_MODEL="scripted",
                MATHTUTOR_OPENAI_BASE_URL=",".join(model_urls), MATHTUTOR_SANDBOX_WARM_KERNELS="0",
                MATHTUTOR_STORE_ARGON2_TIME_COST="1", MATHTUTOR_STORE_ARGON2_MEMORY_KIB="1024",
                MATHTUTOR_BACKEND_RETRIES="1", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", **env)
    proc = subprocess.Popen([*MATHTUTOR, "serve"], env=full, stdout=log.open("w"), stderr=subprocess.STDOUT)
    served = Proc(proc, port, log)
    wait_for(served, "/readyz")
    return served
