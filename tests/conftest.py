"""Shared test set-up: every test gets its own state directory and no network or hub access."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# Fixture modules of each area live in tests/fixtures/ and are registered here.
pytest_plugins: list[str] = ["tests.fixtures.tiny_model", "tests.fixtures.db", "tests.fixtures.sandbox", "tests.fixtures.web",
                              "tests.fixtures.pages"]


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
