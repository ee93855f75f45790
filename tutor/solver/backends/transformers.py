"""In-process model with Hugging Face transformers: greedy decoding, streamed, on one worker thread.

One worker thread owns the model; turns submit requests to its queue and read their text from
their own queue, so two generations never race on the model object. The worker advances every
active request one token at a time in turn (no request waits for another to finish). Each turn
keeps its KV cache between tool rounds: the next round's prompt extends the last one, so only the
new tokens (the ```output block) are encoded. torch and transformers are imported only here.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator, Sequence

from tutor.solver.backends.base import ContextFull, Generation, StopScanner, Stream
from tutor.errors import BackendError
from tutor.settings import SolverSettings
from tutor.solver.prompt import EOS

_DONE = object()


@dataclass
class _Request:
    prompt: str
    stop: Sequence[str]
    max_tokens: int
    cancel: threading.Event | None
    cache_key: str | None
    out: "queue.Queue[Any]" = field(default_factory=queue.Queue)
    abandoned: threading.Event = field(default_factory=threading.Event)
    # worker state
    started: float = 0.0
    first_token_s: float | None = None
    prompt_ids: list[int] = field(default_factory=list)
    cached: int = 0
    generated: list[int] = field(default_factory=list)
    fed: list[int] = field(default_factory=list)     # tokens whose keys/values are in `past`
    past: Any = None
    next_token: int | None = None
    scanner: StopScanner | None = None
    emitted_chars: int = 0


class TransformersBackend:
    name = "transformers"

    def __init__(self, model: str, *, device: str = "auto", dtype: str = "auto", max_cached_turns: int = 16,
                 context_tokens: int | None = None):
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
        self.max_cached_turns = max_cached_turns
        self._cache: "collections.OrderedDict[str, tuple[list[int], Any]]" = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self._queue: "queue.Queue[_Request | None]" = queue.Queue()
        self._closed = False
        # counters for tests and benchmarks: tokens run through the model in prefill and decode
        self.stats = {"prefill_tokens": 0, "decode_tokens": 0, "requests": 0, "cache_hits": 0}
        self._worker = threading.Thread(target=self._run, name="transformers-backend", daemon=True)
        self._worker.start()

    @classmethod
    def from_spec(cls, arg: str, settings: SolverSettings) -> "TransformersBackend":
        return cls(arg or settings.model, device=settings.device, dtype=settings.dtype,
                   context_tokens=settings.context_tokens)

    # --- the Backend protocol -------------------------------------------------------------------
    def complete(self, prompt: str, *, stop: Sequence[str], max_tokens: int,
                 cancel: threading.Event | None = None, cache_key: str | None = None) -> Stream:
        if self._closed:
            raise BackendError("the model backend has been shut down")
        req = _Request(prompt, stop, max_tokens, cancel, cache_key)
        self._queue.put(req)
        return Stream(self._receive(req), on_close=req.abandoned.set)

    def _receive(self, req: _Request) -> Generator[str, None, Generation]:
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
        with self._cache_lock:
            self._cache.pop(cache_key, None)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._worker.join(timeout=30)
            with self._cache_lock:
                self._cache.clear()

    # --- the worker -----------------------------------------------------------------------------
    def _run(self) -> None:
        active: list[_Request] = []
        while True:
            try:   # wait for work when idle; otherwise pick up new requests between steps
                item = self._queue.get() if not active else self._queue.get_nowait()
            except queue.Empty:
                item = _DONE
            if item is None:
                for req in active:
                    req.out.put(BackendError("the model backend shut down"))
                return
            if isinstance(item, _Request):
                try:
                    self._start(item)
                    active.append(item)
                except BaseException as exc:
                    item.out.put(exc if isinstance(exc, BackendError) else BackendError(f"generation failed: {exc}"))
                continue
            for req in list(active):
                try:
                    if self._step(req):
                        active.remove(req)
                except BaseException as exc:   # out of memory, a bad tensor: end this turn, keep serving
                    active.remove(req)
                    req.out.put(BackendError(f"generation failed: {type(exc).__name__}: {exc}"))

    def _start(self, req: _Request) -> None:
        torch = self._torch
        req.started = time.monotonic()
        ids = self.tokenizer(req.prompt, add_special_tokens=False)["input_ids"]
        if len(ids) >= self.context_tokens:
            raise ContextFull(f"the prompt has {len(ids)} tokens; the model's context is {self.context_tokens}")
        req.max_tokens = max(0, min(req.max_tokens, self.context_tokens - len(ids)))
        req.prompt_ids = ids
        req.scanner = StopScanner([*req.stop, EOS] if EOS not in req.stop else req.stop)
        past, reuse = None, 0
        if req.cache_key is not None:
            with self._cache_lock:
                entry = self._cache.pop(req.cache_key, None)
            if entry is not None:
                cached_ids, past = entry
                reuse = 0
                limit = min(len(cached_ids), len(ids) - 1)   # at least one token must be run
                while reuse < limit and cached_ids[reuse] == ids[reuse]:
                    reuse += 1
                if reuse == 0:
                    past = None
                else:
                    drop = past.get_seq_length() - reuse
                    if drop > 0:   # transformers 5 crops by a negative count of tokens to remove
                        past.crop(-drop)
                    self.stats["cache_hits"] += 1
        if past is None:
            from transformers import DynamicCache
            past = DynamicCache(config=self.model.config)
        req.past, req.cached = past, reuse
        self.stats["requests"] += 1
        self.stats["prefill_tokens"] += len(ids) - reuse
        with torch.inference_mode():
            x = torch.tensor([ids[reuse:]], device=self.device)
            logits = self.model(input_ids=x, past_key_values=past, use_cache=True).logits
        req.fed = list(ids)
        req.next_token = int(logits[0, -1].argmax())

    def _step(self, req: _Request) -> bool:
        """Emit the pending token, then run it through the model. True when the request is over."""
        torch = self._torch
        if req.abandoned.is_set():
            self._keep_cache(req)
            return True
        finish = None
        if req.cancel is not None and req.cancel.is_set():
            finish = "cancelled"
        elif len(req.generated) >= req.max_tokens:
            finish = "length"
        else:
            tok = req.next_token
            assert tok is not None
            req.generated.append(tok)
            if tok in self.eos_ids:
                finish = "eos"
            else:
                text = self.tokenizer.decode(req.generated, skip_special_tokens=False)
                # hold back a partly decoded multi-byte character until its last byte arrives
                if not text.endswith("\ufffd"):
                    delta = req.scanner.feed(text[req.emitted_chars:])
                    req.emitted_chars = len(text)
                    if delta:
                        if req.first_token_s is None:
                            req.first_token_s = time.monotonic() - req.started
                        req.out.put(delta)
                    if req.scanner.hit is not None:
                        finish = "eos" if req.scanner.hit == EOS else "stop"
        if finish is None:
            with torch.inference_mode():
                x = torch.tensor([[req.next_token]], device=self.device)
                logits = self.model(input_ids=x, past_key_values=req.past, use_cache=True).logits
            req.fed.append(req.next_token)
            self.stats["decode_tokens"] += 1
            req.next_token = int(logits[0, -1].argmax())
            return False
        if finish not in ("eos", "stop"):
            rest = req.scanner.flush()
            if rest:
                req.out.put(rest)
        self._keep_cache(req)
        req.out.put(Generation(text=req.scanner.text, finish=finish, tokens_in=len(req.prompt_ids),
                               tokens_out=len(req.generated), seconds=time.monotonic() - req.started,
                               tokens_cached=req.cached, stop=req.scanner.hit, first_token_s=req.first_token_s))
        return True

    def _keep_cache(self, req: _Request) -> None:
        if req.cache_key is None or req.past is None:
            return
        with self._cache_lock:
            self._cache[req.cache_key] = (req.fed, req.past)
            while len(self._cache) > self.max_cached_turns:
                self._cache.popitem(last=False)
