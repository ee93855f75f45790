"""Model backends behind one protocol, chosen by a spec string (settings `backend` or `--backend`).

    transformers            in-process model (settings.model: hub id or local folder)
    openai[:BASE_URL]       an OpenAI-compatible server's /v1/completions (vLLM, SGLang, llama.cpp)
    replay:PATH             recorded trajectories (ToRA / chat JSONL), no GPU
    scripted[:PATH]         replies written by tests and demos (JSON file, or enqueue() in code)

Modules: `base` (the protocol, `Stream`, `StopScanner`, playback for the fakes); `transformers` with
`batcher` (continuous batching), `kv_slots` (the batched KV cache) and `graph_decode` (CUDA graphs);
`openai` with `servers` (round-robin over healthy servers); `replay`; `scripted`; `slots` (how many
model calls run at once).
"""

from __future__ import annotations

import importlib
from typing import Callable

from tutor.solver.backends.base import Backend, ContextFull, Generation, StopScanner, Stream
from tutor.solver.backends.replay import ReplayBackend
from tutor.solver.backends.scripted import Failure, ScriptedBackend
from tutor.errors import BackendError
from tutor.settings import SolverSettings

__all__ = ["Backend", "BackendError", "ContextFull", "Failure", "Generation", "ReplayBackend",
           "ScriptedBackend", "StopScanner", "Stream", "get_backend", "register_backend"]

# name -> factory(argument after the colon or "", settings) -> Backend
_FACTORIES: dict[str, Callable[[str, SolverSettings], Backend]] = {}


def register_backend(name: str, factory: Callable[[str, SolverSettings], Backend]) -> None:
    _FACTORIES[name] = factory


def _lazy(module: str, cls: str) -> Callable[[str, SolverSettings], Backend]:
    # the transformers backend imports torch: only when it is chosen
    def factory(arg: str, settings: SolverSettings) -> Backend:
        return getattr(importlib.import_module(module), cls).from_spec(arg, settings)
    return factory


def _replay(arg: str, settings: SolverSettings) -> Backend:
    if not arg:
        raise BackendError("replay needs a file: replay:PATH")
    return ReplayBackend.from_file(arg)


def _scripted(arg: str, settings: SolverSettings) -> Backend:
    return ScriptedBackend.from_file(arg) if arg else ScriptedBackend()


register_backend("transformers", _lazy("tutor.solver.backends.transformers", "TransformersBackend"))
register_backend("openai", _lazy("tutor.solver.backends.openai", "OpenAIBackend"))
register_backend("replay", _replay)
register_backend("scripted", _scripted)


def get_backend(spec: str | None, settings: SolverSettings) -> Backend:
    """The backend named by `spec` (default: settings.backend). Raises BackendError for an unknown
    name or an unusable argument, with the message a user needs."""
    spec = (spec or settings.backend or "").strip()
    name, _, arg = spec.partition(":")
    factory = _FACTORIES.get(name)
    if factory is None:
        raise BackendError(f"unknown backend {spec!r}: expected one of "
                           f"{', '.join(sorted(_FACTORIES))} (e.g. replay:PATH)")
    return factory(arg, settings)
