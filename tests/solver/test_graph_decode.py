"""The GPU fast path: decode steps replayed as CUDA graphs give the same tokens as eager decoding,
for batch 1 and for a batch whose rows have different lengths (the tiny model, on the GPU)."""

from __future__ import annotations

import pytest

from tutor.solver.prompt import STOP_STRINGS, build_prompt


def _no_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return True
    return not torch.cuda.is_available()


# skipped before the (slow to build) tiny model fixture is set up
pytestmark = [pytest.mark.gpu, pytest.mark.slow, pytest.mark.skipif(_no_cuda(), reason="no CUDA GPU here")]

PROMPTS = [build_prompt(q) for q in ("What is six times seven?", "Tell me a story.", "Write a long poem about primes.")]


def test_graphs_match_eager_decoding_on_cuda(tiny_model_dir):
    from tutor.solver.backends.transformers import TransformersBackend
    eager = TransformersBackend(str(tiny_model_dir), device="cuda", dtype="float32", decode="eager", max_batch=4)
    graphs = TransformersBackend(str(tiny_model_dir), device="cuda", dtype="float32", decode="graphs", max_batch=4)
    try:
        assert graphs.decode_mode == "graphs" and len(graphs.batcher.decoder.graphs) >= 1   # batch 1 captured at start
        texts = []
        for b in (eager, graphs):
            texts.append([b.complete(p, stop=STOP_STRINGS, max_tokens=40).text() for p in PROMPTS])   # one at a time
            streams = [b.complete(p, stop=STOP_STRINGS, max_tokens=40) for p in PROMPTS]             # batched
            texts.append([s.text() for s in streams])
        assert texts[0] == texts[1] == texts[2] == texts[3]
        assert any(rows > 1 for rows, _ in graphs.batcher.decoder.graphs)                  # a batch graph ran
    finally:
        eager.close()
        graphs.close()
