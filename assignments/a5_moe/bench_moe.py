"""Benchmark: the sparse MoE layer against a dense baseline that runs every expert on every token.

Same weights, same tokens (N = 8192 by default, d_model 128, expert hidden size 256), one forward pass each
(after one warm-up), at E = 8, k = 2 and E = 64, k = 2. The dense baseline computes all E expert outputs for
all N tokens and combines them with a gate matrix that is zero outside each token's top-k, so its cost grows
with E while the sparse layer's grows with k. The sparse layer should take about k / E of the dense time, plus
the overhead of grouping tokens (target: within 1.5x of k / E at E = 64).

Run it from the folder that holds ``moe.py`` and ``router.py``: ``python bench_moe.py [--tokens N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the modules sit beside this script
from moe import MoELayer  # noqa: E402
from router import top_k_gating  # noqa: E402


def dense_all_experts(layer: MoELayer, x: torch.Tensor) -> torch.Tensor:
    """x [N, C] -> x + sum_e G[:, e] * expert_e(x), every expert on every token (G zero off the top-k)."""
    gates, idx = top_k_gating(layer.gate(x), layer.top_k)  # [N, k]
    G = torch.zeros(x.shape[0], layer.n_experts).scatter(1, idx, gates)  # [N, E]
    w1 = torch.stack([e.w1.weight for e in layer.experts])  # [E, I, C]
    w3 = torch.stack([e.w3.weight for e in layer.experts])
    w2 = torch.stack([e.w2.weight for e in layer.experts])  # [E, C, I]
    h = F.silu(torch.einsum("nc,eic->eni", x, w1)) * torch.einsum("nc,eic->eni", x, w3)  # [E, N, I]
    out = torch.einsum("eni,eci->enc", h, w2)  # [E, N, C]
    return x + torch.einsum("ne,enc->nc", G, out)


def timed(fn, *args) -> float:
    fn(*args)  # warm-up
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description="sparse MoE layer against all experts on all tokens")
    p.add_argument("--tokens", type=int, default=8192)
    p.add_argument("--d-model", dest="d_model", type=int, default=128)
    p.add_argument("--d-ff", dest="d_ff", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)  # one thread: steady timings on a shared machine
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"N = {args.tokens} tokens, d_model = {args.d_model}, d_ff = {args.d_ff}, {args.threads} threads")
    header = ("E", "k", "sparse (s)", "dense (s)", "sparse/dense", "k/E", "vs k/E")
    print("".join(f"{h:>13}" for h in header))
    for E, k in [(8, 2), (64, 2)]:
        layer = MoELayer(args.d_model, args.d_ff, E, k).eval()
        x = torch.randn(args.tokens, args.d_model)
        with torch.no_grad():
            sparse_out = layer(x[None])[0][0]
            dense_out = dense_all_experts(layer, x)
            gap = float((sparse_out - dense_out).abs().max())
            assert gap < 1e-3, f"the two paths disagree by {gap}"
            t_sparse = timed(layer, x[None])
            t_dense = timed(dense_all_experts, layer, x)
        ratio = t_sparse / t_dense
        row = (f"{E}", f"{k}", f"{t_sparse:.4f}", f"{t_dense:.4f}", f"{ratio:.3f}", f"{k / E:.3f}")
        print("".join(f"{c:>13}" for c in row) + f"{ratio / (k / E):>12.2f}x")


if __name__ == "__main__":
    main()
