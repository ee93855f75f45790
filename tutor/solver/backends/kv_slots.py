"""The KV cache of the batched transformers backend: one preallocated row ("slot") per running request.

Per layer, keys and values are `[slots, kv_heads, max_len, head_dim]`. The scheduler keeps the
running requests in slots 0..B-1 (a finished request's hole is filled by moving the last one), so
a decode step attends over a plain slice of the pool - a view, no gather copy - and the only copies
are one request's KV when it moves, parks or comes back. Each request writes at its own position;
a 4D mask built here hides every column past a row's own length, so rows of different lengths share
one forward pass.

`SlotCache` duck-types the one method Llama-style attention calls on a transformers `Cache`:
`update(key_states, value_states, layer_idx)`. torch is imported by the caller (the backend).
"""

from __future__ import annotations

from typing import Any


class SlotCache:
    def __init__(self, torch: Any, config: Any, *, slots: int, max_len: int, device: str, dtype: Any):
        self.torch = torch
        heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        shape = (slots, heads, max_len, head_dim)
        # zeros: on CPU the pages of unused slots are never touched, so they cost no memory
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.num_hidden_layers)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.num_hidden_layers)]
        self.slots, self.max_len, self.device, self.dtype = slots, max_len, device, dtype
        self.min_value = torch.finfo(dtype).min
        self._mode: tuple = ()
        self._rows: Any = None
        self._positions: Any = None

    @staticmethod
    def bytes_per_slot(config: Any, max_len: int, element_size: int) -> int:
        heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        return 2 * config.num_hidden_layers * heads * max_len * head_dim * element_size

    # --- binding the next forward pass ----------------------------------------------------------------
    def bind_prefill(self, slot: int, start: int, count: int) -> Any:
        """The next forward runs `count` tokens of the request in `slot` from position `start`; returns
        its causal mask [1, 1, count, start+count] (additive, so eager and SDPA attention both take it)."""
        torch = self.torch
        self._mode = ("prefill", slot, start, start + count)
        rows = torch.arange(start, start + count, device=self.device)[:, None]
        cols = torch.arange(start + count, device=self.device)[None, :]
        return torch.where(cols <= rows, 0.0, self.min_value).to(self.dtype)[None, None]

    def bind_decode(self, positions: Any, width: int) -> Any:
        """The next forward runs one token for each of rows 0..B-1, at `positions` (a [B] tensor on the
        device); keys and values are read up to column `width`. Returns the mask [B, 1, 1, width]."""
        torch = self.torch
        rows = positions.shape[0]
        self._mode = ("decode", rows, width)
        self._rows = torch.arange(rows, device=self.device)
        self._positions = positions
        cols = torch.arange(width, device=self.device)[None, :]
        return torch.where(cols <= positions[:, None], 0.0, self.min_value).to(self.dtype)[:, None, None, :]

    def update(self, key_states: Any, value_states: Any, layer_idx: int, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        keys, values = self.keys[layer_idx], self.values[layer_idx]
        if self._mode[0] == "prefill":
            _, slot, start, end = self._mode
            keys[slot, :, start:end] = key_states[0]
            values[slot, :, start:end] = value_states[0]
            return keys[slot:slot + 1, :, :end], values[slot:slot + 1, :, :end]
        _, rows, width = self._mode
        keys[self._rows, :, self._positions] = key_states[:, :, 0]
        values[self._rows, :, self._positions] = value_states[:, :, 0]
        return keys[:rows, :, :width], values[:rows, :, :width]

    # --- moving one request's KV ----------------------------------------------------------------------
    def move(self, src: int, dst: int, length: int) -> None:
        for keys, values in zip(self.keys, self.values):
            keys[dst, :, :length] = keys[src, :, :length]
            values[dst, :, :length] = values[src, :, :length]

    def save(self, slot: int, length: int) -> list[tuple[Any, Any]]:
        """A copy of the slot's first `length` positions, kept while the turn runs its code."""
        return [(k[slot, :, :length].clone(), v[slot, :, :length].clone()) for k, v in zip(self.keys, self.values)]

    def load(self, slot: int, saved: list[tuple[Any, Any]], length: int) -> None:
        for (k, v), keys, values in zip(saved, self.keys, self.values):
            keys[slot, :, :length] = k[:, :length]
            values[slot, :, :length] = v[:, :length]
