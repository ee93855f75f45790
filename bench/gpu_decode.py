"""Decoding speed of a random-weight model with DeepSeekMath-7B's exact shape, in bf16, through the
transformers backend's batcher, against the memory-bandwidth limit (each decode step reads all
~13.8 GB of weights once). One prepared run, a few minutes on one GPU. Prints, in order:

  - the device's copy bandwidth (a large device-to-device copy) and the batch-1 limit it implies;
  - batch 1: time to first token for a --prompt-token prompt, and decode tokens/s for
      (a) the baseline: eager decoding with transformers' DynamicCache, as the old backend ran it,
      (b) the batcher, eager, and (c) the batcher with CUDA-graph decode steps (what the backend picks
      on a GPU), each as a share of the bandwidth limit (goal >= 75%);
  - --sessions (16, 64) concurrent sessions with --context-token contexts (~1.5k): a cold start (all
    prompts arrive at once: time to fill, TTFT p95) and then steady tool rounds - each session's next
    round extends its context by its reply and an output block, reusing its KV - with aggregate
    tokens/s and TTFT p95 of the rounds (goals: >= 4k tokens/s at 64, TTFT p95 < 1 s).

Usage:  python bench/gpu_decode.py                 # on a CUDA machine
        python bench/gpu_decode.py --tiny          # the same code on CPU with a tiny model and small sizes
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# DeepSeekMath-7B (DESIGN.md): LlamaForCausalLM, hidden 4096, intermediate 11008, 30 layers,
# 32 heads, 32 KV heads, vocab 102400, context 4096, rope theta 10000, RMS eps 1e-6, bf16.
DEEPSEEK_MATH_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=30, num_attention_heads=32,
                        num_key_value_heads=32, vocab_size=102400, max_position_embeddings=4096,
                        rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False)
TINY = dict(DEEPSEEK_MATH_7B, hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=4, vocab_size=1024)


class NumberTokenizer:
    """Prompts are token ids written as numbers: the bench needs no tokenizer files and stops on nothing."""

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        return {"input_ids": [int(x) for x in text.split()]}

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return "".join(f" {i}" for i in ids)


def sync(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()


def copy_bandwidth(torch, device, dtype, gib: float) -> float:
    """GB/s of a device-to-device copy (read + write counted), best of 5."""
    n = int(gib * 2**30) // 2
    src = torch.empty(n, dtype=dtype, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    sync(torch, device)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        dst.copy_(src)
        sync(torch, device)
        best = min(best, time.perf_counter() - t0)
    del src, dst
    return 2 * n * 2 / best / 1e9


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def dynamic_cache_decode(torch, model, config, device, prompt_len: int, tokens: int) -> tuple[float, float]:
    """The baseline: batch-1 eager decoding with DynamicCache. Returns (TTFT s, tokens/s)."""
    from transformers import DynamicCache
    prompt = torch.randint(0, config.vocab_size, (1, prompt_len), device=device)
    cache = DynamicCache(config=config)
    sync(torch, device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        nxt = model(input_ids=prompt, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[:, -1:].argmax(-1)
        sync(torch, device)
        ttft = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(tokens):
            nxt = model(input_ids=nxt, past_key_values=cache, use_cache=True).logits[:, -1:].argmax(-1)
        sync(torch, device)
    return ttft, tokens / (time.perf_counter() - t1)


def make_batcher(torch, model, device, dtype, slots: int, max_len: int, graphs: bool):
    from tutor.solver.backends.batcher import Batcher
    b = Batcher(torch, model, NumberTokenizer(), device=device, dtype=dtype, slots=slots, max_len=max_len,
                eos_ids=set(), max_cached_turns=slots)
    if graphs:
        from tutor.solver.backends.graph_decode import GraphDecoder
        decoder = GraphDecoder(torch, b)
        decoder.warm_up((1,))
        b.decoder = decoder
    return b


def run_round(batcher, prompts: list[list[int]], tokens: int, keys: list[str]) -> tuple[list[float], int, float, list]:
    """Submit every prompt at once and step until all are done: (TTFTs, tokens generated, seconds)."""
    from tutor.solver.backends.batcher import Request
    reqs = [Request(" ".join(map(str, p)), [], tokens, None, k) for p, k in zip(prompts, keys)]
    t0 = time.perf_counter()
    for r in reqs:
        batcher.submit(r)
    while batcher.busy:
        batcher.step()
    seconds = time.perf_counter() - t0
    return [r.first_token_s for r in reqs], sum(len(r.generated) for r in reqs), seconds, reqs


def batch1(torch, model, device, dtype, prompt_len: int, tokens: int, graphs: bool) -> tuple[float, float]:
    b = make_batcher(torch, model, device, dtype, 1, prompt_len + tokens + 16, graphs)
    prompt = [random.randrange(model.config.vocab_size) for _ in range(prompt_len)]
    run_round(b, [prompt], 8, ["w"])        # warm-up
    b.release("w")
    ttfts, n, seconds, _ = run_round(b, [prompt], tokens, ["x"])
    decode_s = seconds - ttfts[0]
    return ttfts[0], (n - 1) / decode_s


def sessions(torch, model, device, dtype, n: int, context: int, tokens: int, rounds: int, graphs: bool) -> None:
    new_per_round = 40                       # an ```output block and the next round's start
    max_len = context + rounds * (tokens + new_per_round) + 16
    b = make_batcher(torch, model, device, dtype, n, max_len, graphs)
    vocab = model.config.vocab_size
    prompts = [[random.randrange(vocab) for _ in range(context)] for _ in range(n)]
    keys = [f"s{i}" for i in range(n)]
    ttfts, made, seconds, reqs = run_round(b, prompts, tokens, keys)
    print(f"  {n:>3} sessions, cold start ({context}-token prompts all at once): {seconds:6.2f} s, "
          f"TTFT p50 {pct(ttfts, .5):.3f} s, p95 {pct(ttfts, .95):.3f} s, {made / seconds:7.0f} tokens/s")
    all_ttft, all_made, all_s = [], 0, 0.0
    for _ in range(rounds):
        prompts = [p + r.generated + [random.randrange(vocab) for _ in range(new_per_round)] for p, r in zip(prompts, reqs)]
        ttfts, made, seconds, reqs = run_round(b, prompts, tokens, keys)
        all_ttft += ttfts
        all_made += made
        all_s += seconds
    print(f"  {n:>3} sessions, {rounds} tool rounds each (context reused, {new_per_round} new tokens encoded per "
          f"round): {all_made / all_s:7.0f} tokens/s aggregate, {all_made / all_s / n:5.1f} per session, "
          f"TTFT p50 {pct(all_ttft, .5):.3f} s, p95 {pct(all_ttft, .95):.3f} s; "
          f"cache hits {b.stats['cache_hits']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (checks the script without a GPU)")
    parser.add_argument("--prompt", type=int, default=512, help="batch-1 prompt tokens")
    parser.add_argument("--tokens", type=int, default=256, help="batch-1 decoded tokens")
    parser.add_argument("--sessions", default="16,64")
    parser.add_argument("--context", type=int, default=1536, help="context tokens per session")
    parser.add_argument("--round-tokens", type=int, default=128, help="new tokens per session per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if args.tiny:
        device, dtype, shape = "cpu", torch.float32, TINY
        args.prompt, args.tokens = min(args.prompt, 128), min(args.tokens, 64)
        args.context, args.round_tokens, args.rounds = min(args.context, 192), min(args.round_tokens, 24), 2
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA GPU here: run with --tiny to check the script on CPU")
        device, dtype, shape = "cuda", torch.bfloat16, DEEPSEEK_MATH_7B
    torch.manual_seed(0)
    random.seed(0)
    t0 = time.perf_counter()
    config = LlamaConfig(**shape)
    torch.set_default_dtype(dtype)
    with torch.device(device):          # build the weights on the device directly: no 28 GB fp32 copy on the host
        model = LlamaForCausalLM(config).eval()
    torch.set_default_dtype(torch.float32)
    for p in model.parameters():        # small random weights keep bf16 activations finite
        p.data.normal_(0.0, 0.02)
    sync(torch, device)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    print(f"device {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}, dtype {str(dtype).split('.')[-1]}, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:,.1f} M parameters = {weight_bytes / 1e9:.3f} GB "
          f"(built in {time.perf_counter() - t0:.1f} s)", flush=True)

    bw = copy_bandwidth(torch, device, dtype, 0.25 if args.tiny else 4.0)
    limit = bw * 1e9 / weight_bytes
    print(f"baseline copy bandwidth: {bw:.0f} GB/s -> bandwidth limit {limit:.1f} tokens/s at batch 1", flush=True)

    def share(tps: float) -> str:
        return f"{tps * weight_bytes / 1e9:.0f} GB/s of weights read, {100 * tps / limit:.1f}% of the bandwidth limit"

    dynamic_cache_decode(torch, model, config, device, args.prompt, 8)        # warm-up
    ttft, tps = dynamic_cache_decode(torch, model, config, device, args.prompt, args.tokens)
    print(f"batch 1, {args.prompt}-token prompt, {args.tokens} tokens:")
    print(f"  baseline, eager + DynamicCache (the old backend): TTFT {ttft * 1000:.1f} ms, {tps:.1f} tokens/s = {share(tps)}",
          flush=True)
    modes = [("batcher, eager", False)] + ([("batcher, CUDA graphs (the backend on a GPU)", True)] if device == "cuda" else [])
    for label, graphs in modes:
        ttft, tps = batch1(torch, model, device, dtype, args.prompt, args.tokens, graphs)
        print(f"  {label}: TTFT {ttft * 1000:.1f} ms, {tps:.1f} tokens/s = {share(tps)}", flush=True)
    print(f"concurrent sessions ({'CUDA graphs' if device == 'cuda' else 'eager'}), {args.round_tokens} new tokens "
          f"per session per round:")
    for n in [int(x) for x in args.sessions.split(",") if x.strip()]:
        sessions(torch, model, device, dtype, n, args.context, args.round_tokens, args.rounds, device == "cuda")
        if device == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
