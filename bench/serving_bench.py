"""Serving benchmark: many sessions on one in-process model, batched vs one at a time; prints figures,
asserts nothing.

1. Concurrent sessions (--sessions 1,8,32): every session asks for --tokens new tokens at the same
   moment. Batched: the transformers backend as shipped (continuous batching, one forward pass per
   step for all). Baseline in the same run: the same backend and model with one batch slot, so the
   requests are served one at a time (each at the full batch-1 speed). Printed per N: aggregate
   tokens/s, per-session tokens/s (p50), time to first token p50/p95, and the speed-up.
   With --json: one object per line {"sessions", "batched_tok_s", "sequential_tok_s", "ttft_p95_s", ...}.
2. Classroom (--classroom): 30 students start a tutoring problem within a minute; the model calls a
   start makes (bench/classroom.py) run on a simulated GPU whose step time is taken from measured
   rates (--gpu-tok-s at batch 1, --gpu-batch-cost per extra row): p50/p95 time to the first hint and
   to a ready key, batched vs the old one-token-per-request-in-turn backend.

Usage: .venv/bin/python bench/serving_bench.py --tiny --sessions 1,8,32 [--json] [--classroom] [--threads 1]
       .venv/bin/python bench/serving_bench.py --model PATH --sessions 1,16,64   # a real model (GPU)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

QUESTION = ("A tank holds {n} litres of water. Every hour a third of the water is drained and then 7 litres "
            "are added. How much water is left after five hours? Show each step.")


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_sessions(backend, n: int, tokens: int) -> dict:
    """n sessions start together; returns aggregate and per-session figures."""
    from tutor.solver.prompt import build_prompt
    prompts = [build_prompt(QUESTION.format(n=100 + i)) for i in range(n)]
    rows: list[dict] = [{} for _ in range(n)]
    barrier = threading.Barrier(n + 1)

    def session(i: int) -> None:
        barrier.wait()
        t0 = time.perf_counter()
        stream = backend.complete(prompts[i], stop=[], max_tokens=tokens)
        first = None
        for _ in stream:
            first = first if first is not None else time.perf_counter()
        end = time.perf_counter()
        gen = stream.result
        rows[i] = {"start": t0, "end": end, "tokens": gen.tokens_out,
                   "ttft": (first or end) - t0, "rate": gen.tokens_out / max(1e-9, end - t0)}

    threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    wall = max(r["end"] for r in rows) - min(r["start"] for r in rows)
    total = sum(r["tokens"] for r in rows)
    ttfts = [r["ttft"] for r in rows]
    return {"tok_s": total / wall, "session_tok_s": statistics.median(r["rate"] for r in rows),
            "ttft_p50": pct(ttfts, .5), "ttft_p95": pct(ttfts, .95), "tokens": total, "wall": wall}


def bench_sessions(model_dir: str, sessions: list[int], tokens: int, device: str, as_json: bool) -> None:
    from tutor.solver.backends.transformers import TransformersBackend
    batched = TransformersBackend(model_dir, device=device, max_batch=max(sessions))
    one = TransformersBackend(model_dir, device=device, max_batch=1)
    for b in (batched, one):   # warm-up: allocator, kernels (and CUDA graphs on a GPU)
        b.complete("warm up", stop=[], max_tokens=8).text()
    if not as_json:
        import torch
        print(f"{batched.model_name} on {batched.device} ({batched.decode_mode} decode, {torch.get_num_threads()} "
              f"CPU threads), {tokens} new tokens per session, load average {os.getloadavg()[0]:.1f} at start")
        print(f"{'sessions':>8} | {'batched tok/s':>13} {'per-session':>11} {'TTFT p50':>9} {'p95':>7} | "
              f"{'one-at-a-time tok/s':>19} {'TTFT p50':>9} {'p95':>7} | speed-up")
    try:
        for n in sessions:
            b = run_sessions(batched, n, tokens)
            s = run_sessions(one, n, tokens)
            if as_json:
                print(json.dumps({"sessions": n, "batched_tok_s": round(b["tok_s"], 2),
                                  "sequential_tok_s": round(s["tok_s"], 2), "ttft_p95_s": round(b["ttft_p95"], 4),
                                  "ttft_p50_s": round(b["ttft_p50"], 4), "session_tok_s": round(b["session_tok_s"], 2),
                                  "sequential_ttft_p95_s": round(s["ttft_p95"], 4),
                                  "speedup": round(b["tok_s"] / s["tok_s"], 2), "load_avg": round(os.getloadavg()[0], 2)}),
                      flush=True)
            else:
                print(f"{n:>8} | {b['tok_s']:>13.1f} {b['session_tok_s']:>11.1f} {b['ttft_p50']:>8.3f}s "
                      f"{b['ttft_p95']:>6.3f}s | {s['tok_s']:>19.1f} {s['ttft_p50']:>8.3f}s {s['ttft_p95']:>6.3f}s | "
                      f"{b['tok_s'] / s['tok_s']:.2f}x", flush=True)
        if not as_json:
            print(f"batch sizes of the batched runs' decode steps: {dict(sorted(batched.stats['batch_sizes'].items()))}")
            print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores; other work on the box slows both columns)")
    finally:
        batched.close()
        one.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="a random-weight Llama (hidden 256, 4 layers) on CPU")
    parser.add_argument("--model", help="a model folder or hub id instead of --tiny")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sessions", default="1,8,32")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per session")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default). On a busy shared box 1 is much faster: "
                             "OpenMP threads spin-wait for each other when the cores are oversubscribed")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--classroom", action="store_true", help="also run the classroom simulation")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--gpu-tok-s", type=float, default=300.0,
                        help="simulated GPU: batch-1 decode tokens/s (bench/gpu_decode.py measures it)")
    parser.add_argument("--gpu-batch-cost", type=float, default=0.045,
                        help="simulated GPU: extra step time per extra row, as a share of the batch-1 step "
                             "(0.045: 64 rows make ~5k tokens/s at 300 tokens/s batch-1)")
    args = parser.parse_args()
    sessions = [int(x) for x in args.sessions.split(",") if x.strip()]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads and (args.tiny or args.model):
        import torch
        torch.set_num_threads(args.threads)
    if args.tiny or args.model:
        if args.model:
            bench_sessions(args.model, sessions, args.tokens, args.device, args.json)
        else:
            from tests.fixtures.tiny_model import build_tiny_model
            with tempfile.TemporaryDirectory() as d:
                path = build_tiny_model(Path(d), hidden=256, layers=4, heads=8, train_steps=0)
                bench_sessions(str(path), sessions, args.tokens, "cpu" if args.device == "auto" else args.device,
                               args.json)
    if args.classroom:
        from classroom import simulate_classroom
        simulate_classroom(args.students, args.gpu_tok_s, args.gpu_batch_cost, as_json=args.json)
    if not (args.tiny or args.model or args.classroom):
        parser.error("choose --tiny, --model PATH and/or --classroom")


if __name__ == "__main__":
    main()
