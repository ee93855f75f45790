"""The sandbox's small family of errors; each one decides what the caller does next."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """The sandbox itself failed (could not start a kernel, lost it, bad input); the code's own
    exceptions are never raised, they come back in `CellResult.error`."""


class SandboxBusy(SandboxError):
    """Too many live kernels, or this session is cooling down after repeated kills: try again later."""


class SandboxUnsafe(SandboxError):
    """An isolation layer is missing or the self-check saw the sandbox leak; the pool refuses to start."""
