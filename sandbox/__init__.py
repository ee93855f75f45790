"""Run untrusted Python in isolated, pooled Jupyter kernels (bubblewrap + seccomp + rlimits + cgroup).

    with KernelPool(SandboxConfig(), run_dir) as pool:
        session = pool.acquire("learner-7/session-3")
        result = session.run("from sympy import *; print(solve(x**2 - 4))")

Knows nothing of tutoring; see README "## Sandbox" for the layers and settings.

- `pool`: `KernelPool` (kernels handed out one per session key, never reused for another key; culling,
  cool-down) and `KernelSession.run(code, timeout, cancel)`; `refill`: the warm supply and the line for
  sessions that find no kernel warm.
- `kernel`: one confined ipykernel and the host end of its channels (execute, interrupt on the time limit
  or a Stop, kill); `cell`: what one cell's messages collected; `result`: `CellResult`, `CellError`.
- the confinement: `jail` (the bubblewrap command line), `seccomp`, `cgroup`, `procfs` (the host's view of
  a kernel's processes), `boot` (the bootstrap run inside); `selfcheck`: at start, what must fail does fail.
- `config`: `SandboxConfig`; `errors`: `SandboxError`, `SandboxBusy`, `SandboxUnsafe`.
"""

from sandbox.config import SandboxConfig
from sandbox.errors import SandboxBusy, SandboxError, SandboxUnsafe
from sandbox.pool import KernelPool, KernelSession
from sandbox.result import CellError, CellResult

__all__ = ["KernelPool", "KernelSession", "CellResult", "CellError", "SandboxError", "SandboxBusy",
           "SandboxUnsafe", "SandboxConfig"]
