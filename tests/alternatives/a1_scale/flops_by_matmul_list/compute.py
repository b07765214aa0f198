"""Alternative: FLOPs as a sum of matmul_flops over an explicit list of the matrix products of one token."""

from __future__ import annotations

import math

SECONDS_PER_DAY = 86_400
PF_DAY = 1e15 * SECONDS_PER_DAY


def matmul_flops(m: int, n: int, p: int) -> int:
    return m * n * p + m * n * p


def _products(config: dict, seq_len: int, attention: bool) -> list[tuple[int, int, int]]:
    d, H = config["d_model"], config["n_heads"]
    h = config.get("head_dim") or d // H
    shapes = []
    for _ in range(config["n_layers"]):
        if config["arch"] == "gpt2":
            f = config.get("d_ff") or 4 * d
            shapes += [(1, d, 3 * d), (1, d, d), (1, d, f), (1, f, d)]
        else:
            kv = config.get("n_kv_heads") or H
            shapes += [(1, d, H * h), (1, d, kv * h), (1, d, kv * h), (1, H * h, d)]
            if config.get("n_experts"):
                shapes.append((1, d, config["n_experts"]))
            for _ in range(config.get("experts_per_token") or 1):
                shapes += [(1, d, config["d_ff"])] * 2 + [(1, config["d_ff"], d)]
        if attention:
            shapes += [(H, h, seq_len), (H, seq_len, h)]  # one query row per head against all keys
    shapes.append((1, d, config["vocab_size"]))
    return shapes


def forward_flops_per_token(config: dict, seq_len: int, attention: bool = True) -> int:
    return sum(matmul_flops(*s) for s in _products(config, seq_len, attention))


def kaplan_flops_per_token(config: dict, n_ctx: int) -> int:
    d, L = config["d_model"], config["n_layers"]
    f = config.get("d_ff") or 4 * d
    return 4 * d * L * (2 * d + f) + 2 * L * n_ctx * d


def attention_fraction(config: dict, seq_len: int) -> float:
    with_attn = forward_flops_per_token(config, seq_len)
    return 1.0 - forward_flops_per_token(config, seq_len, attention=False) / with_attn


def train_flops(n_params: float, n_tokens: float) -> float:
    return 2 * n_params * n_tokens + 4 * n_params * n_tokens


def train_flops_exact(config: dict, seq_len: int, n_tokens: int) -> int:
    f = forward_flops_per_token(config, seq_len)
    return f * n_tokens + 2 * f * n_tokens


def tokens_for_budget(flops: float, n_params: float) -> float:
    return flops / 6 / n_params


def pf_days(flops: float) -> float:
    return flops / 1e15 / SECONDS_PER_DAY


def gpu_days(flops: float, peak_flops_per_s: float, mfu: float) -> float:
    seconds = flops / (peak_flops_per_s * mfu)
    return seconds / SECONDS_PER_DAY


def wall_clock_days(flops: float, n_gpus: int, peak_flops_per_s: float, mfu: float) -> float:
    return flops / (n_gpus * peak_flops_per_s * mfu * SECONDS_PER_DAY)


def mfu(tokens_per_s: float, flops_per_token: float, peak_flops_per_s: float) -> float:
    achieved = tokens_per_s * flops_per_token
    return achieved / peak_flops_per_s if math.isfinite(achieved) else float("nan")
