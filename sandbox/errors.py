"""The sandbox's small family of errors; each one decides what the caller does next.

Each class has a stable `code` for front ends to map to words: busy (try again shortly) is not the
same thing as unsafe (no sandbox at all until an admin fixes the machine).
"""

from __future__ import annotations


class SandboxError(RuntimeError):
    """The sandbox itself failed (could not start a kernel, lost it, bad input); the code's own
    exceptions are never raised, they come back in `CellResult.error`."""
    code = "sandbox_error"


class SandboxBusy(SandboxError):
    """Too many live kernels, or this session is cooling down after repeated kills: try again later."""
    code = "sandbox_busy"


class SandboxUnsafe(SandboxError):
    """No usable sandbox on this machine: an isolation layer is missing, the self-check saw the
    sandbox leak, or it could not start at all. Nothing runs until an admin fixes it
    (`mathtutor sandbox check` says what); retrying soon does not help."""
    code = "sandbox_unsafe"
