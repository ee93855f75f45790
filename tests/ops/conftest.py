"""A tiny model folder in DeepSeekMath's format, built once: the checks read its files, never its answers,
so the weights stay untrained (tests/fixtures/tiny_model.py trains them for the tests that do)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def format_model_dir(tmp_path_factory) -> Path:
    from tests.fixtures.tiny_model import build_tiny_model
    return build_tiny_model(tmp_path_factory.mktemp("format-model"), train_steps=0)


@pytest.fixture
def model_copy(format_model_dir, tmp_path) -> Path:
    """A private copy to break."""
    return Path(shutil.copytree(format_model_dir, tmp_path / "model"))
