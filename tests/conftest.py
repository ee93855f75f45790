"""Shared test set-up: every test gets its own state directory and no network or hub access.

Tests that start sandbox kernels carry the `kernel` marker, so `pytest -m "not kernel"` is a quick unit
run: it is added here to every test that uses the shared pool (directly or through a fixture built on
it), and written by hand on tests that make their own `KernelPool` or run `mathtutor serve` as a child
process. An unmarked test that starts a pool in this process fails, so the marker cannot drift from what
the tests do (a child process's pool is not seen: mark those by hand).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# Fixture modules of each area live in tests/fixtures/ and are registered here.
pytest_plugins: list[str] = ["tests.fixtures.tiny_model", "tests.fixtures.db", "tests.fixtures.sandbox", "tests.fixtures.web",
                              "tests.fixtures.pages"]


# Every fixture that starts kernels is built on this one (tests/fixtures/sandbox.py).
KERNEL_FIXTURES = frozenset({"sandbox_pool"})


def pytest_collection_modifyitems(items):
    for item in items:
        if KERNEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kernel)


@pytest.fixture(autouse=True)
def _kernels_only_when_marked(request, monkeypatch):
    """A test without the `kernel` marker may not start a kernel pool (CLI commands run in-process included)."""
    if request.node.get_closest_marker("kernel") is not None:
        return
    from sandbox.pool import KernelPool

    def refuse(self, *args, **kwargs):
        pytest.fail("this test starts sandbox kernels: mark it @pytest.mark.kernel", pytrace=False)
    monkeypatch.setattr(KernelPool, "start", refuse)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path, monkeypatch):
    """A private data directory; no MATHTUTOR_* setting leaks in from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("MATHTUTOR_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "state"
    data_dir.mkdir()
    monkeypatch.setenv("MATHTUTOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Kernel starts on a loaded two-core CI box have taken over 30 s; a start that really fails still fails.
    monkeypatch.setenv("MATHTUTOR_SANDBOX_START_TIMEOUT_S", "90")
    yield data_dir
