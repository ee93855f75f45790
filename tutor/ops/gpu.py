"""The CUDA GPUs of this machine and their free memory, read through torch when it is installed.

torch is imported here only (it takes seconds and is absent from CPU-only installs); asking for free
memory creates a CUDA context on each device but loads nothing else onto it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    total_bytes: int
    free_bytes: int


def find_gpus() -> tuple[list[Gpu], str]:
    """(GPUs, how we know): an empty list with the reason when there are none or torch cannot tell."""
    try:
        import torch
    except ImportError:
        return [], "torch is not installed (the `model` extra), so no GPU can be used by this install"
    try:
        if not torch.cuda.is_available():
            return [], f"torch {torch.__version__} sees no CUDA GPU (driver missing, or a CPU-only torch build)"
        found = []
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            found.append(Gpu(i, torch.cuda.get_device_name(i), int(total), int(free)))
    except RuntimeError as exc:  # a driver/runtime mismatch surfaces here, not at import
        return [], f"CUDA is present but unusable: {exc}"
    return found, f"torch {torch.__version__}, CUDA {torch.version.cuda}"
