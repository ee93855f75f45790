"""Batch-1 decode speed of a random-weight model with DeepSeekMath-7B's exact shape, in bf16,
against the memory-bandwidth limit (each decoded token reads all ~13.8 GB of weights once).

Measured in one run (well under five minutes on one GPU):
  - the device's copy bandwidth (a large device-to-device copy): the baseline;
  - time to first token for a prompt of --prompt tokens (prefill + one token);
  - decode tokens/s over --tokens tokens, greedy, with the same KV cache the transformers backend uses,
    then the bandwidth it implies (weight bytes x tokens/s) as a fraction of the measured copy bandwidth.

Usage:  python bench/gpu_decode.py                 # on a CUDA machine
        python bench/gpu_decode.py --tiny          # the same code path on CPU with a tiny model
Options: --prompt 512 --tokens 256 --static (static cache + torch.compile, if you want the ceiling)
"""

from __future__ import annotations

import argparse
import time

# DeepSeekMath-7B (DESIGN.md): LlamaForCausalLM, hidden 4096, intermediate 11008, 30 layers,
# 32 heads, 32 KV heads, vocab 102400, context 4096, rope theta 10000, RMS eps 1e-6, bf16.
DEEPSEEK_MATH_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=30, num_attention_heads=32,
                        num_key_value_heads=32, vocab_size=102400, max_position_embeddings=4096,
                        rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False)
TINY = dict(DEEPSEEK_MATH_7B, hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=4, vocab_size=1024)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (checks the script without a GPU)")
    parser.add_argument("--prompt", type=int, default=512, help="prompt tokens for time-to-first-token")
    parser.add_argument("--tokens", type=int, default=256, help="decoded tokens to time")
    parser.add_argument("--static", action="store_true", help="also time a static cache with torch.compile")
    args = parser.parse_args()

    import torch
    from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM

    if args.tiny:
        device, dtype, shape = "cpu", torch.float32, TINY
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA GPU here: run with --tiny to check the script on CPU")
        device, dtype, shape = "cuda", torch.bfloat16, DEEPSEEK_MATH_7B
    torch.manual_seed(0)
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
          f"(built in {time.perf_counter() - t0:.1f} s)")

    bw = copy_bandwidth(torch, device, dtype, 0.25 if args.tiny else 4.0)
    limit = bw * 1e9 / weight_bytes
    print(f"baseline copy bandwidth: {bw:.0f} GB/s -> bandwidth limit {limit:.1f} tokens/s at batch 1")

    prompt = torch.randint(0, config.vocab_size, (1, args.prompt), device=device)

    def run(tokens: int):
        cache = DynamicCache(config=config)
        sync(torch, device)
        t_start = time.perf_counter()
        with torch.inference_mode():
            logits = model(input_ids=prompt, past_key_values=cache, use_cache=True).logits
            nxt = logits[:, -1:].argmax(-1)
            sync(torch, device)
            ttft = time.perf_counter() - t_start
            t_dec = time.perf_counter()
            for _ in range(tokens):
                logits = model(input_ids=nxt, past_key_values=cache, use_cache=True).logits
                nxt = logits[:, -1:].argmax(-1)
            sync(torch, device)
        return ttft, tokens / (time.perf_counter() - t_dec)

    run(8)                                   # warm-up: kernels, allocator
    ttft, tps = run(args.tokens)
    achieved = tps * weight_bytes / 1e9
    print(f"time to first token ({args.prompt}-token prompt): {ttft * 1000:.1f} ms")
    print(f"batch-1 decode (eager, dynamic cache, as the transformers backend runs it): {tps:.1f} tokens/s = "
          f"{achieved:.1f} GB/s of weights read, {100 * achieved / bw:.1f}% of copy bandwidth, "
          f"{100 * tps / limit:.1f}% of the bandwidth limit")

    if args.static:
        from transformers import StaticCache
        compiled = torch.compile(model, mode="reduce-overhead", fullgraph=True)
        cache = StaticCache(config=config, max_cache_len=args.prompt + args.tokens + 16)
        with torch.inference_mode():
            pos = torch.arange(args.prompt, device=device)
            logits = model(input_ids=prompt, past_key_values=cache, cache_position=pos, use_cache=True).logits
            nxt = logits[:, -1:].argmax(-1)
            timed = 0.0
            for i in range(args.tokens):
                p = torch.tensor([args.prompt + i], device=device)
                if i == 16:               # after compilation and CUDA-graph capture
                    sync(torch, device)
                    timed = time.perf_counter()
                logits = compiled(input_ids=nxt, past_key_values=cache, cache_position=p, use_cache=True).logits
                nxt = logits[:, -1:].argmax(-1)
            sync(torch, device)
        stps = (args.tokens - 16) / (time.perf_counter() - timed)
        print(f"batch-1 decode (static cache + torch.compile): {stps:.1f} tokens/s = "
              f"{stps * weight_bytes / 1e9:.1f} GB/s, {100 * stps / limit:.1f}% of the bandwidth limit")


if __name__ == "__main__":
    main()
