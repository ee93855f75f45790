"""A sandbox that cannot run code safely (here: bubblewrap missing) is told as what it is: the student
hears the calculator is switched off (not that it is busy with other students), the admin page says
why, and /healthz is degraded."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest

from app.admin_status import StatusBoard, status_markdown
from app.messages import friendly
from app.metrics import Metrics
from tests.fixtures.web import PROBLEM, TutorScript, sign_in

pytestmark = pytest.mark.kernel  # the pool is asked to start (and refuses before any kernel runs)


@pytest.fixture
def unsafe_pool(tmp_path):
    from sandbox import KernelPool, SandboxUnsafe
    from tutor.settings import load_settings
    config = dataclasses.replace(load_settings().sandbox, bwrap=str(tmp_path / "no-such-bwrap"))
    pool = KernelPool(config, tmp_path / "kernels")
    with pytest.raises(SandboxUnsafe):
        pool.start()          # what `mathtutor serve` does at start-up; the server still starts
    yield pool
    pool.close()


def test_the_student_is_told_the_calculator_is_off_not_busy(web_factory, unsafe_pool):
    web = web_factory(pool=unsafe_pool, script=TutorScript())
    web.user("ada", solve=True)
    with web.client() as c:
        token = sign_in(c, "ada")
        r = c.post("/api/sessions", json={"question": PROBLEM, "mode": "solve"}, headers={"x-csrf-token": token})
    errors = [e for e in map(json.loads, r.text.splitlines()) if e.get("kind") == "error"]
    assert errors and errors[0]["code"] == "sandbox_unsafe", errors
    assert "busy" not in friendly("sandbox_unsafe") and "switched off" in friendly("sandbox_unsafe")


def test_the_admin_page_says_why_no_code_runs(tmp_path, store, unsafe_pool):
    from tutor.settings import load_settings
    from tutor.tutoring.service import TutorService
    settings = load_settings(data_dir=tmp_path, backend="scripted")
    service = TutorService.from_settings(settings, store=store, backend=TutorScript().backend(), pool=unsafe_pool)
    try:
        ctx = SimpleNamespace(settings=settings, service=service, store=store, metrics=Metrics(), pool=unsafe_pool)
        md = status_markdown(StatusBoard(ctx).report())
    finally:
        service.close()
    assert "The code sandbox is switched off" in md
    assert "bwrap" in md and "missing" in md and "mathtutor sandbox check" in md
