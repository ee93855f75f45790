"""Only the checking workers import SymPy: the web process and the CLI stay fast to start and small."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What the web process imports to check answers, steps and hints (and the app itself).
API = ["tutor.checking.grader", "tutor.checking.steps", "tutor.checking.prose", "tutor.checking.workers",
       "tutor.checking.mathtypes", "tutor.tutoring.service", "app.main"]
ENGINE = ["tutor.checking.grading_engine", "tutor.checking.steps_engine"]


def _sympy_after_importing(modules: list[str]) -> list[str]:
    code = ("import json, sys\n"
            f"for name in {modules!r}:\n"
            "    __import__(name)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m == 'sympy' or m.startswith('sympy.'))[:5]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_checking_api_the_service_and_the_app_do_not_import_sympy():
    assert _sympy_after_importing(API) == []


@pytest.mark.parametrize("module", ENGINE)
def test_the_engines_that_workers_run_do(module):
    """The probe above would see SymPy if it were imported."""
    assert "sympy" in _sympy_after_importing([module])
