"""Limits and switches of the sandbox. Plain dataclass: `sandbox/` imports nothing of `tutor/`.

Each field's metadata["help"] documents it; tutor's settings loader reads them from
MATHTUTOR_SANDBOX_<FIELD> environment variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _opt(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class SandboxConfig:
    cell_timeout_s: float = _opt(10.0, "Default seconds a cell may run before it is interrupted.")
