"""Cached against recomputing generation: how much the KV cache saves, and how each grows with length.

Usage (from the kit's root folder):

    python assignments/a4_context/bench_cache.py                 # the reference modules
    python assignments/a4_context/bench_cache.py --impl work/a4_context   # your own modules

For 256 and 1024 new tokens it generates greedily with one small random decoder twice, once with the cache
(prefill, then one token per step) and once recomputing the whole prefix at every step, and prints both times,
their ratio and the time per generated token at a few positions. One run each, on the CPU, in float32.

The recomputing step at position t runs every layer over t tokens: its time grows linearly with t, so the
whole
run grows as N^2. The cached step runs every layer over one token and reads t cached keys: it is nearly flat
in t at these sizes, so the ratio grows roughly linearly with N (section 1 of the handout).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import torch

KIT = Path(__file__).resolve().parents[2]
# large enough that the matrix products, not Python's per-call overhead, dominate a recomputing step
CONFIG = dict(
    vocab_size=256, d_model=256, n_layers=4, n_heads=8, n_kv_heads=2, d_ff=512, max_position_embeddings=2048
)


def load_modules(impl: Path):
    """Import rope, kv_cache and model from ``impl`` (the reference by default)."""
    sys.path.insert(0, str(impl))
    for name in ("rope", "kv_cache", "model"):
        sys.modules.pop(name, None)
    return importlib.import_module("model")


@torch.no_grad()
def step_times(model, prompt: torch.Tensor, n_new: int, use_cache: bool) -> list[float]:
    """Seconds taken by each of the n_new generation steps (greedy), with or without the cache."""
    times = []
    idx = prompt
    cache = model.new_cache() if use_cache else None
    new = prompt
    for _ in range(n_new):
        start = time.perf_counter()
        if use_cache:
            logits = model(new, cache)
        else:
            logits = model(idx)
        new = logits[:, -1:].argmax(dim=-1)
        idx = torch.cat([idx, new], dim=1)
        times.append(time.perf_counter() - start)
    return times


def run(impl: Path | None = None, lengths=(256, 1024), prompt_len: int = 8, seed: int = 0) -> dict:
    """{n: {"cached": [seconds per step], "recompute": [...]}} for every length n."""
    torch.manual_seed(seed)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model_mod = load_modules(impl or KIT / "solutions" / "a4_context")
    model = model_mod.Decoder(model_mod.DecoderConfig(**CONFIG)).eval()
    prompt = torch.randint(0, CONFIG["vocab_size"], (1, prompt_len))
    step_times(model, prompt, 8, True)  # warm-up
    results = {}
    for n in lengths:
        results[n] = {
            "cached": step_times(model, prompt, n, True),
            "recompute": step_times(model, prompt, n, False),
        }
    return results


def report(results: dict, prompt_len: int = 8) -> None:
    for n, r in results.items():
        cached, full = sum(r["cached"]), sum(r["recompute"])
        print(f"{n} tokens: cached {cached:.3f} s, recomputing {full:.3f} s, ratio {full / cached:.1f}x")
        marks = [m for m in (1, 16, 64, 128, 256, 512, 1024) if m <= n]
        for m in marks:
            lo, hi = max(m - 8, 0), m  # mean of the 8 steps ending at step m
            c = sum(r["cached"][lo:hi]) / (hi - lo) * 1e3
            f = sum(r["recompute"][lo:hi]) / (hi - lo) * 1e3
            print(
                f"    position {prompt_len + m:5d}: cached {c:7.3f} ms/token, recomputing {f:7.3f} ms/token"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", type=Path, default=None, help="folder with rope.py, kv_cache.py, model.py")
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 1024])
    args = parser.parse_args()
    print(f"decoder {CONFIG}, threads {min(2, torch.get_num_threads())}, float32, greedy")
    report(run(args.impl, tuple(args.lengths)))


if __name__ == "__main__":
    main()
