"""In-process model with Hugging Face transformers: greedy decoding with continuous batching, streamed.

One worker thread owns the model and runs the batcher (batcher.py): every forward pass advances
every running request by one token, so concurrent sessions share the GPU's throughput instead of
taking turns. Each request streams its own text, with its own stop strings and limits; a Stop or
a closed stream frees its slot before the next forward pass. A turn's KV cache stays parked between
tool rounds, so the next round encodes only the new tokens (the ```output block).

On CUDA the decode step is replayed as CUDA graphs (graph_decode.py), captured for batch 1 at start:
that is the fast batch-1 path. torch and transformers are imported only here.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any, Generator, Sequence

from tutor.errors import BackendError
from tutor.settings import SolverSettings
from tutor.solver.backends.base import Generation, Stream
from tutor.solver.backends.batcher import Batcher, Request
from tutor.solver.backends.kv_slots import SlotCache
from tutor.solver.prompt import EOS

log = logging.getLogger(__name__)

# batch slots when there is no GPU memory to size them by: a CPU gains little past this
CPU_SLOTS = 32
GPU_MAX_SLOTS = 64
# share of the free RAM the KV slots may take on a CPU (the grading workers and kernels need the rest)
CPU_KV_SHARE = 0.25
# share of the GPU memory left after the weights that the KV slots may take (activations need the rest)
GPU_KV_SHARE = 0.8


class TransformersBackend:
    name = "transformers"

    def __init__(self, model: str, *, device: str = "auto", dtype: str = "auto", max_cached_turns: int = 16,
                 context_tokens: int | None = None, max_batch: int | None = None, decode: str = "auto",
                 prefill_tokens: int = 512):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # a CPU-only install without the `model` extra
            raise BackendError(f"the transformers backend needs torch and transformers installed ({exc})") from None
        self._torch = torch
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise BackendError("MATHTUTOR_DEVICE=cuda but no CUDA GPU is available")
        if dtype == "auto":
            dtype = "bfloat16" if device == "cuda" else "float32"
        if dtype not in ("bfloat16", "float16", "float32"):
            raise BackendError(f"unsupported dtype {dtype!r}: use bfloat16, float16 or float32")
        if decode not in ("auto", "eager", "graphs"):
            raise BackendError(f"unsupported decode mode {decode!r}: use auto, eager or graphs")
        if decode == "graphs" and device != "cuda":
            raise BackendError("CUDA-graph decoding needs a CUDA GPU")
        self.device, self.dtype, self.model_name = device, dtype, model
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.model = AutoModelForCausalLM.from_pretrained(model, dtype=getattr(torch, dtype)).to(device).eval()
        except (OSError, ValueError) as exc:
            where = "folder" if Path(model).exists() else "hub id (offline: it must be in the local cache)"
            raise BackendError(f"cannot load model {model!r} as a {where}: {exc}") from None
        eos = self.tokenizer.convert_tokens_to_ids(EOS)
        self.eos_ids = {i for i in (self.tokenizer.eos_token_id, eos) if isinstance(i, int) and i >= 0}
        self.context_tokens = context_tokens or int(getattr(self.model.config, "max_position_embeddings", 4096))
        slots = max_batch or self._auto_slots()
        if slots < 1:
            raise BackendError(f"the GPU has no memory left for even one {self.context_tokens}-token KV cache")
        self.batcher = Batcher(torch, self.model, self.tokenizer, device=device, dtype=getattr(torch, dtype),
                               slots=slots, max_len=self.context_tokens, eos_ids=self.eos_ids,
                               max_cached_turns=max_cached_turns, prefill_tokens=prefill_tokens)
        self.stats = self.batcher.stats
        self.concurrency = slots    # model calls that decode together: the web app's model slots follow it
        self.decode_mode = "eager"
        if decode == "graphs" or (decode == "auto" and device == "cuda"):
            self._use_graphs(required=decode == "graphs")
        self._queue: "queue.Queue[Request | None]" = queue.Queue()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="transformers-backend", daemon=True)
        self._worker.start()

    @classmethod
    def from_spec(cls, arg: str, settings: SolverSettings) -> "TransformersBackend":
        return cls(arg or settings.model, device=settings.device, dtype=settings.dtype,
                   context_tokens=settings.context_tokens)

    def _auto_slots(self) -> int:
        """As many slots as the memory left after the weights holds (the pool is zero-filled, so every
        page of it is real), up to a count past which batching gains little."""
        torch = self._torch
        per_slot = SlotCache.bytes_per_slot(self.model.config, self.context_tokens,
                                            torch.finfo(getattr(torch, self.dtype)).bits // 8)
        if self.device == "cuda":
            free, _total = torch.cuda.mem_get_info()
            return min(GPU_MAX_SLOTS, int(free * GPU_KV_SHARE) // per_slot)
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return max(1, min(CPU_SLOTS, int(free * CPU_KV_SHARE) // per_slot))

    def _use_graphs(self, *, required: bool) -> None:
        """Capture batch-1 decode graphs now (the warm-up), so the first student does not pay for it."""
        from tutor.solver.backends.graph_decode import GraphDecoder
        try:
            decoder = GraphDecoder(self._torch, self.batcher)
            decoder.warm_up((1,))
        except Exception as exc:   # a driver or model that cannot be captured: stay correct, just slower
            if required:
                raise BackendError(f"CUDA-graph decoding failed to start: {exc}") from None
            log.warning("CUDA-graph decoding unavailable, decoding eagerly: %s", exc)
            return
        self.batcher.decoder = decoder
        self.decode_mode = "graphs"

    # --- the Backend protocol -------------------------------------------------------------------
    def complete(self, prompt: str, *, stop: Sequence[str], max_tokens: int,
                 cancel: threading.Event | None = None, cache_key: str | None = None) -> Stream:
        if self._closed:
            raise BackendError("the model backend has been shut down")
        req = Request(prompt, stop, max_tokens, cancel, cache_key)
        self._queue.put(req)
        return Stream(self._receive(req), on_close=req.abandoned.set)

    def _receive(self, req: Request) -> Generator[str, None, Generation]:
        try:
            while True:
                item = req.out.get()
                if isinstance(item, str):
                    yield item
                elif isinstance(item, Generation):
                    return item
                elif isinstance(item, BaseException):
                    raise item
        finally:
            req.abandoned.set()   # the worker drops a request nobody reads any more

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def release(self, cache_key: str) -> None:
        """The turn is over: free its KV cache."""
        self.batcher.release(cache_key)

    def slots_in_use(self) -> int:
        return len(self.batcher.running)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._worker.join(timeout=30)
            with self.batcher.parked_lock:
                self.batcher.parked.clear()

    # --- the worker -----------------------------------------------------------------------------
    def _run(self) -> None:
        batcher = self.batcher
        while True:
            items: list[Any] = []
            if not batcher.busy:            # idle: sleep until a request comes
                items.append(self._queue.get())
            while True:                     # otherwise take whatever arrived since the last step
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for item in items:
                if item is None:
                    batcher.fail_all(BackendError("the model backend shut down"))
                    return
                try:
                    batcher.submit(item)
                except BackendError as exc:
                    item.out.put(exc)
                except Exception as exc:
                    item.out.put(BackendError(f"generation failed: {type(exc).__name__}: {exc}"))
            try:
                batcher.step()
            except Exception as exc:   # out of memory, a bad tensor: end the running turns, keep serving
                log.exception("batched generation step failed")
                batcher.fail_all(BackendError(f"generation failed: {type(exc).__name__}: {exc}"))
