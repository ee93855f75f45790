"""Continuous batching for the in-process backend: every forward pass advances every running request.

One thread (the backend's worker) calls `Batcher.step()` in a loop. A step
  1. ends requests that were cancelled or abandoned, freeing their slot before any compute;
  2. admits waiting requests into free slots, reusing KV from a parked turn: the same turn's last
     round (`cache_key`: only the new tokens, the ```output block, are encoded) or, failing that,
     the longest shared prompt prefix of any parked turn (hidden key calls share their preamble);
  3. encodes up to `prefill_tokens` prompt tokens of admitted requests (batch 1, in chunks, so a long
     prompt never stalls the others for long);
  4. emits each decoding request's pending token (stop strings, EOS, max_tokens per request), then
     runs ONE forward pass with one new token for every running row and reads the next tokens.
A finished request's KV is parked under its `cache_key` (bounded, least recently used dropped).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from tutor.solver.backends.base import ContextFull, Generation, StopScanner
from tutor.solver.backends.kv_slots import SlotCache
from tutor.solver.prompt import EOS

# the shortest shared prefix worth copying from another turn's parked KV (below it, encoding is as cheap)
MIN_SHARED_PREFIX = 32


@dataclass
class Request:
    prompt: str
    stop: Sequence[str]
    max_tokens: int
    cancel: threading.Event | None
    cache_key: str | None
    out: "queue.Queue[Any]" = field(default_factory=queue.Queue)
    abandoned: threading.Event = field(default_factory=threading.Event)
    started: float = 0.0
    first_token_s: float | None = None
    prompt_ids: list[int] = field(default_factory=list)
    cached: int = 0
    generated: list[int] = field(default_factory=list)
    fed: list[int] = field(default_factory=list)   # tokens whose keys/values are in the slot, in order
    slot: int = -1
    next_token: int | None = None
    scanner: StopScanner | None = None
    prefix_offset: int = 0     # incremental detokenizing: generated[prefix_offset:read_offset] is shown text
    read_offset: int = 0

    @property
    def decoding(self) -> bool:
        return self.next_token is not None


class Batcher:
    def __init__(self, torch: Any, model: Any, tokenizer: Any, *, device: str, dtype: Any, slots: int, max_len: int,
                 eos_ids: set[int], max_cached_turns: int = 16, prefill_tokens: int = 512,
                 decoder: Callable[[Any, Any, int], Any] | None = None):
        self.torch, self.model, self.tokenizer, self.device = torch, model, tokenizer, device
        self.cache = SlotCache(torch, model.config, slots=slots, max_len=max_len, device=device, dtype=dtype)
        self.slots, self.max_len, self.eos_ids = slots, max_len, eos_ids
        self.max_cached_turns, self.prefill_tokens = max_cached_turns, prefill_tokens
        # decoder(tokens [B], positions [B], width) -> logits [B, vocab]; a CUDA-graph one may replace the eager one
        self.decoder = decoder or self.eager_decode
        self.waiting: "collections.deque[Request]" = collections.deque()
        self.running: list[Request] = []            # running[i].slot == i
        self.parked: "collections.OrderedDict[str, tuple[list[int], list]]" = collections.OrderedDict()
        self.parked_lock = threading.Lock()
        # counters for tests and benchmarks
        self.stats: dict[str, Any] = {"prefill_tokens": 0, "decode_tokens": 0, "requests": 0, "cache_hits": 0,
                                      "prefix_hits": 0, "forward_calls": 0, "decode_steps": 0,
                                      "batch_sizes": collections.Counter()}

    # --- requests in --------------------------------------------------------------------------------------
    def submit(self, req: Request) -> None:
        """Tokenize and queue; raises ContextFull when the prompt leaves no room for a reply."""
        req.started = time.monotonic()
        ids = self.tokenizer(req.prompt, add_special_tokens=False)["input_ids"]
        if len(ids) >= self.max_len:
            raise ContextFull(f"the prompt has {len(ids)} tokens; the model's context is {self.max_len}")
        req.max_tokens = max(0, min(req.max_tokens, self.max_len - len(ids)))
        req.prompt_ids = ids
        req.scanner = StopScanner([*req.stop, EOS] if EOS not in req.stop else req.stop)
        self.stats["requests"] += 1
        self.waiting.append(req)

    @property
    def busy(self) -> bool:
        return bool(self.running or self.waiting)

    def release(self, cache_key: str) -> None:
        with self.parked_lock:
            self.parked.pop(cache_key, None)

    def fail_all(self, error: BaseException) -> None:
        for req in [*self.running, *self.waiting]:
            req.out.put(error)
        self.running.clear()
        self.waiting.clear()

    # --- one scheduler step ---------------------------------------------------------------------------------
    def step(self) -> None:
        for req in list(self.running):
            if req.abandoned.is_set() or (req.cancel is not None and req.cancel.is_set()):
                self._finish(req, "cancelled")
        for req in list(self.waiting):
            if req.abandoned.is_set() or (req.cancel is not None and req.cancel.is_set()):
                self.waiting.remove(req)
                self._report(req, "cancelled")
        while self.waiting and len(self.running) < self.slots:
            self._admit(self.waiting.popleft())
        budget = self.prefill_tokens
        for req in list(self.running):
            while budget > 0 and not req.decoding:
                budget -= self._prefill(req, budget)
        for req in [r for r in self.running if r.decoding]:
            self._emit(req)
        if any(r.decoding for r in self.running):
            self._decode()

    def _admit(self, req: Request) -> None:
        ids, reuse, source = req.prompt_ids, 0, None
        with self.parked_lock:
            entry = self.parked.pop(req.cache_key, None) if req.cache_key is not None else None
            if entry is not None:
                source = entry
            else:   # another turn with the same preamble: copy, and leave it parked for its own next round
                for other in self.parked.values():
                    n = _common_prefix(other[0], ids)
                    if n >= MIN_SHARED_PREFIX and n > reuse:
                        source, reuse = other, n
        req.slot = len(self.running)
        self.running.append(req)
        if source is not None:
            reuse = min(_common_prefix(source[0], ids), len(ids) - 1)   # at least one token must be run
            if reuse > 0:
                self.cache.load(req.slot, source[1], reuse)
                self.stats["cache_hits" if entry is not None else "prefix_hits"] += 1
        req.cached = reuse
        req.fed = ids[:reuse]

    def _prefill(self, req: Request, budget: int) -> int:
        torch = self.torch
        start = len(req.fed)
        chunk = req.prompt_ids[start:start + budget]
        mask = self.cache.bind_prefill(req.slot, start, len(chunk))
        with torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([chunk], device=self.device),
                                position_ids=torch.arange(start, start + len(chunk), device=self.device)[None],
                                attention_mask=mask, past_key_values=self.cache, use_cache=True,
                                logits_to_keep=1).logits
        self.stats["forward_calls"] += 1
        self.stats["prefill_tokens"] += len(chunk)
        req.fed.extend(chunk)
        if len(req.fed) == len(req.prompt_ids):
            req.next_token = int(logits[0, -1].argmax())
        return len(chunk)

    def eager_decode(self, tokens: Any, positions: Any, width: int) -> Any:
        mask = self.cache.bind_decode(positions, width)
        return self.model(input_ids=tokens[:, None], position_ids=positions[:, None], attention_mask=mask,
                          past_key_values=self.cache, use_cache=True).logits[:, -1]

    def _decode(self) -> None:
        """One forward pass for every running row. A row still encoding its prompt gets a throw-away
        token at its next free position, which its next prefill chunk overwrites."""
        torch = self.torch
        rows = self.running
        tokens = torch.tensor([r.next_token if r.decoding else 0 for r in rows], device=self.device)
        positions = torch.tensor([len(r.fed) for r in rows], device=self.device)
        width = max(len(r.fed) for r in rows) + 1
        with torch.inference_mode():
            nxt = self.decoder(tokens, positions, width).argmax(-1).tolist()
        ready = [r for r in rows if r.decoding]
        self.stats["forward_calls"] += 1
        self.stats["decode_steps"] += 1
        self.stats["decode_tokens"] += len(ready)
        self.stats["batch_sizes"][len(ready)] += 1
        for r in ready:
            r.fed.append(r.next_token)
            r.next_token = nxt[r.slot]

    def _emit(self, req: Request) -> None:
        """Hand the request's pending token to its reader, or end the request."""
        if len(req.generated) >= req.max_tokens or len(req.fed) + 1 >= self.max_len:
            return self._finish(req, "length")
        tok = req.next_token
        req.generated.append(tok)
        if tok in self.eos_ids:
            return self._finish(req, "eos")
        # Decode a short window, not the whole reply each token (that is quadratic, and on a GPU the host
        # would fall behind): the new text is what the window adds to its already shown part, both decoded
        # from the same start so a tokenizer's leading-space rules treat them alike (as vLLM does).
        shown = self.tokenizer.decode(req.generated[req.prefix_offset:req.read_offset], skip_special_tokens=False)
        text = self.tokenizer.decode(req.generated[req.prefix_offset:], skip_special_tokens=False)
        # hold back a partly decoded multi-byte character until its last byte arrives
        if len(text) <= len(shown) or text.endswith("\ufffd"):
            return None
        req.prefix_offset, req.read_offset = req.read_offset, len(req.generated)
        delta = req.scanner.feed(text[len(shown):])
        if delta:
            if req.first_token_s is None:
                req.first_token_s = time.monotonic() - req.started
            req.out.put(delta)
        if req.scanner.hit is not None:
            self._finish(req, "eos" if req.scanner.hit == EOS else "stop")
        return None

    def _finish(self, req: Request, finish: str) -> None:
        self._park(req)   # a cancelled round's KV is still right for the tokens it holds
        last = self.running.pop()
        if last is not req:          # fill the hole so running rows stay 0..B-1
            self.cache.move(last.slot, req.slot, len(last.fed))
            last.slot = req.slot
            self.running[req.slot] = last
        req.slot = -1
        self._report(req, finish)

    def _park(self, req: Request) -> None:
        if req.cache_key is None or not req.fed:
            return
        saved = self.cache.save(req.slot, len(req.fed))
        with self.parked_lock:
            self.parked[req.cache_key] = (list(req.fed), saved)
            self.parked.move_to_end(req.cache_key)
            while len(self.parked) > self.max_cached_turns:
                self.parked.popitem(last=False)

    def _report(self, req: Request, finish: str) -> None:
        scanner = req.scanner
        if finish not in ("eos", "stop"):
            rest = scanner.flush()
            if rest:
                req.out.put(rest)
        req.out.put(Generation(text=scanner.text, finish=finish, tokens_in=len(req.prompt_ids),
                               tokens_out=len(req.generated), seconds=time.monotonic() - req.started,
                               tokens_cached=req.cached, stop=scanner.hit, first_token_s=req.first_token_s))


def _common_prefix(a: list[int], b: list[int]) -> int:
    n, limit = 0, min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    return n
