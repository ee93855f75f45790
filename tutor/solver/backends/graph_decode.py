"""Batched decode steps replayed as CUDA graphs: the fast path of the transformers backend on a GPU.

Eager decoding of a 7B model spends more time launching ~500 small kernels per token than reading
the weights; a captured graph launches them all at once. One graph per (batch bucket, width bucket):
batches round up to a power of two and the attended width up to a multiple of `width_step`, so a
few dozen graphs cover every state; batch 1 is captured at start (the warm-up), the others on first
use (a capture costs about three forward passes). Padding rows write their throw-away keys in the
last column of their slot, which no request ever reaches (the batcher ends a request one short of
`max_len`), and nobody reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class _Graph:
    graph: Any
    tokens: Any
    positions: Any
    logits: Any


class GraphDecoder:
    def __init__(self, torch: Any, batcher: Any, *, width_step: int = 256):
        self.torch, self.batcher, self.width_step = torch, batcher, width_step
        self.graphs: dict[tuple[int, int], _Graph] = {}
        self.pool = torch.cuda.graph_pool_handle()    # graphs replay one at a time: one memory pool for all

    def buckets(self, batch: int, width: int) -> tuple[int, int]:
        rows = 1
        while rows < batch:
            rows *= 2
        step = self.width_step
        return min(rows, self.batcher.slots), min(self.batcher.max_len, -(-width // step) * step)

    def warm_up(self, batch_sizes: tuple[int, ...] = (1,)) -> int:
        """Capture the graphs for these batch sizes at every width; returns how many were captured."""
        for batch in batch_sizes:
            for width in range(self.width_step, self.batcher.max_len + self.width_step, self.width_step):
                self._graph(*self.buckets(batch, width))
        return len(self.graphs)

    def __call__(self, tokens: Any, positions: Any, width: int) -> Any:
        batch = tokens.shape[0]
        g = self._graph(*self.buckets(batch, width))
        g.tokens[:batch].copy_(tokens)
        g.tokens[batch:].zero_()
        g.positions[:batch].copy_(positions)
        g.positions[batch:].fill_(self.batcher.max_len - 1)
        g.graph.replay()
        return g.logits[:batch]

    def _graph(self, rows: int, width: int) -> _Graph:
        key = (rows, width)
        if key in self.graphs:
            return self.graphs[key]
        torch = self.torch
        tokens = torch.zeros(rows, dtype=torch.long, device="cuda")
        positions = torch.full((rows,), self.batcher.max_len - 1, dtype=torch.long, device="cuda")
        with torch.inference_mode():
            side = torch.cuda.Stream()          # PyTorch wants a few runs on a side stream before capture
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self.batcher.eager_decode(tokens, positions, width)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self.pool):
                logits = self.batcher.eager_decode(tokens, positions, width)
        self.graphs[key] = _Graph(graph, tokens, positions, logits)
        return self.graphs[key]
