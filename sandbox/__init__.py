"""Run untrusted Python in isolated, pooled Jupyter kernels (bubblewrap + seccomp + rlimits + cgroup).

    with KernelPool(SandboxConfig(), run_dir) as pool:
        session = pool.acquire("learner-7/session-3")
        result = session.run("from sympy import *; print(solve(x**2 - 4))")

Knows nothing of tutoring; see README "## Sandbox" for the layers and settings.
"""

from sandbox.config import SandboxConfig
from sandbox.errors import SandboxBusy, SandboxError, SandboxUnsafe
from sandbox.pool import KernelPool, KernelSession
from sandbox.result import CellError, CellResult

__all__ = ["KernelPool", "KernelSession", "CellResult", "CellError", "SandboxError", "SandboxBusy",
           "SandboxUnsafe", "SandboxConfig"]
