"""`mathtutor serve` for an admin: an existing store behind the code's schema is backed up before it is
migrated, the model folder is checked and (MATHTUTOR_PRELOAD) loaded before the first student, and with
MATHTUTOR_LOG_FORMAT=json the journal gets one JSON object per line with each request's id."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.tiny_model import free_port
from tutor.ops.backup import read_manifest, restore
from tutor.settings import load_settings
from tutor.store import open_store
from tutor.store.migrate import head_revision

MATHTUTOR = [sys.executable, "-c", "from tutor.cli import main; main()"]
pytestmark = [pytest.mark.kernel, pytest.mark.slow]   # the served app starts its kernel pool


def serve(data_dir: Path, port: int, log: Path, **env: str) -> subprocess.Popen:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MATHTUTOR_")}
    full.update(MATHTUTOR_DATA_DIR=str(data_dir), MATHTUTOR_PORT=str(port), MATHTUTOR_SANDBOX_WARM_KERNELS="0",
                MATHTUTOR_STORE_ARGON2_TIME_COST="1", MATHTUTOR_STORE_ARGON2_MEMORY_KIB="1024", HF_HUB_OFFLINE="1",
                **env)
    return subprocess.Popen([*MATHTUTOR, "serve"], env=full, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_up(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("serve exited:\n" + log.read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code in (200, 503):
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError("serve did not answer:\n" + log.read_text())


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_serve_backs_up_checks_and_preloads_the_model_and_logs_json_with_request_ids(tmp_path, format_model_dir):
    data = tmp_path / "data"
    old = open_store(load_settings(data_dir=data))
    old.upgrade()
    old.create_user("ada", "student")
    old.downgrade("0001")                     # an install from before the newest migration
    old.close()
    port, log = free_port(), tmp_path / "serve.log"
    proc = serve(data, port, log, MATHTUTOR_BACKEND="transformers", MATHTUTOR_MODEL=str(format_model_dir),
                 MATHTUTOR_DEVICE="cpu", MATHTUTOR_PRELOAD="true", MATHTUTOR_LOG_FORMAT="json")
    try:
        wait_up(proc, port, log)
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"x-request-id": "lb-probe-0001"}, timeout=10)
        assert answer.headers["x-request-id"] == "lb-probe-0001"
        time.sleep(0.5)
    finally:
        stop(proc)
    out = log.read_text()
    head = head_revision()
    assert f"Backed up the store before migrating it (before migrating 0001 -> {head})" in out
    assert "OK    tokenizer" in out and "OK    weights" in out       # the model check, before listening
    assert "Model loaded in" in out and "on cpu (float32)" in out
    access = [d for d in (json.loads(line) for line in out.splitlines() if line.startswith("{"))
              if d.get("logger") == "uvicorn.access"]
    probe = [d for d in access if d.get("request_id") == "lb-probe-0001"]
    assert probe and probe[0]["path"] == "/healthz" and probe[0]["method"] == "GET", access

    [archive] = (data / "backups").glob("mathtutor-backup-*.tar.gz")
    assert read_manifest(archive)["revision"] == "0001"
    elsewhere = load_settings(data_dir=tmp_path / "restored")
    restore(elsewhere, archive)
    store = open_store(elsewhere)
    try:
        assert store.current_revision() == "0001"     # the store as it was before the migration
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "restored" / "mathtutor.db") as conn:   # the 0001 schema predates the models
        assert conn.execute("SELECT name FROM users").fetchall() == [("ada",)]


def test_a_preloaded_model_that_does_not_load_stops_the_start_with_the_reason(tmp_path):
    port, log = free_port(), tmp_path / "serve.log"
    proc = serve(tmp_path / "data", port, log, MATHTUTOR_BACKEND="transformers",
                 MATHTUTOR_MODEL=str(tmp_path / "no-such-model"), MATHTUTOR_PRELOAD="1")
    try:
        proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            stop(proc)
    out = log.read_text()
    assert proc.returncode == 1, out
    assert "FAIL  files" in out and "not a model folder" in out
    assert "MATHTUTOR_PRELOAD: the model did not load" in out
