"""Compute, put into exact numbers: FLOPs per token of the forward pass, FLOPs of a training run, and the
time a
run takes on real hardware.

Counting convention (pinned in the handout): a matrix product of an (m x n) matrix by an (n x p) matrix costs
``2 * m * n * p`` FLOPs (one multiply and one add per term). Only matrix products count: embedding lookups,
norms, activations, softmax and residual additions are left out (they are a small fraction for all but tiny
models). The backward pass costs twice the forward pass, so a training step costs three forward passes.

Configs are the dicts of ``accounting.py`` with one more pinned key, ``"arch"``: ``"gpt2"`` or ``"llama"``.
"""

from __future__ import annotations

SECONDS_PER_DAY = 86_400
PF_DAY = 1e15 * SECONDS_PER_DAY  # FLOPs in one petaFLOP/s-day (8.64e19)


def matmul_flops(m: int, n: int, p: int) -> int:
    """FLOPs of an (m x n) @ (n x p) product: 2 * m * n * p."""
    # BEGIN SOLUTION
    return 2 * m * n * p
    # END SOLUTION


def forward_flops_per_token(config: dict, seq_len: int, attention: bool = True) -> int:
    """Forward-pass FLOPs per token of a sequence of ``seq_len`` tokens, exact integer.

    Counted, per block: the q, k, v and output projections; the MLP's matrices (two for GPT-2's GELU MLP,
    three for SwiGLU; for an MoE block ``experts_per_token`` expert MLPs and the router d -> E); and, when
    ``attention`` is True, the two attention products q @ k^T and weights @ v, each ``2 * seq_len * H * h``
    per
    token (every query against all ``seq_len`` keys: the full square a masked matmul computes). After the
    blocks: the output head d -> V, counted whether or not it is tied (it is a matmul either way).
    """
    # BEGIN SOLUTION
    d, L, V = config["d_model"], config["n_layers"], config["vocab_size"]
    H = config["n_heads"]
    h = config.get("head_dim") or d // H
    if config["arch"] == "gpt2":
        d_ff = config.get("d_ff") or 4 * d
        weights = d * 3 * d + d * d + 2 * d * d_ff  # qkv, proj, fc, proj
    elif config["arch"] == "llama":
        H_kv = config.get("n_kv_heads") or H
        k = config.get("experts_per_token") or 1
        router = d * config["n_experts"] if config.get("n_experts") else 0
        weights = d * H * h + 2 * d * H_kv * h + H * h * d + k * 3 * d * config["d_ff"] + router
    else:
        raise ValueError(f"unknown arch {config['arch']!r}; expected 'gpt2' or 'llama'")
    per_block = 2 * weights  # one token is a (1 x n) @ (n x p) product per weight matrix
    if attention:
        per_block += 2 * (2 * seq_len * H * h)  # scores q @ k^T and the weighted sum of v
    return L * per_block + 2 * d * V
    # END SOLUTION


def kaplan_flops_per_token(config: dict, n_ctx: int) -> int:
    """Kaplan et al. (2020), Table 1: C_forward = 2 N + 2 n_layer n_ctx d_attn for a GPT-2 style config, with
    N = 2 d_model n_layer (2 d_attn + d_ff) the non-embedding parameters without biases and norms, and
    d_attn = d_model. The context term counts q @ k^T only; the output head is not counted."""
    # BEGIN SOLUTION
    d, L = config["d_model"], config["n_layers"]
    d_ff = config.get("d_ff") or 4 * d
    n = 2 * d * L * (2 * d + d_ff)
    return 2 * n + 2 * L * n_ctx * d
    # END SOLUTION


def attention_fraction(config: dict, seq_len: int) -> float:
    """Share of the forward FLOPs per token spent in the two attention products at ``seq_len``."""
    # BEGIN SOLUTION
    total = forward_flops_per_token(config, seq_len, attention=True)
    return (total - forward_flops_per_token(config, seq_len, attention=False)) / total
    # END SOLUTION


def train_flops(n_params: float, n_tokens: float) -> float:
    """The standard estimate C = 6 N D of a training run: 2 N per token forward, 4 N backward."""
    # BEGIN SOLUTION
    return 6 * n_params * n_tokens
    # END SOLUTION


def train_flops_exact(config: dict, seq_len: int, n_tokens: int) -> int:
    """Training FLOPs of ``n_tokens`` tokens in sequences of ``seq_len``: forward plus a backward pass of
    twice
    the forward cost, attention included. Exact integer."""
    # BEGIN SOLUTION
    return 3 * forward_flops_per_token(config, seq_len, attention=True) * n_tokens
    # END SOLUTION


def tokens_for_budget(flops: float, n_params: float) -> float:
    """Tokens D a budget of ``flops`` buys for a model of ``n_params`` parameters: D = C / (6 N)."""
    # BEGIN SOLUTION
    return flops / (6 * n_params)
    # END SOLUTION


def pf_days(flops: float) -> float:
    """A number of FLOPs in petaFLOP/s-days (1 PF-day = 1e15 FLOP/s for a day = 8.64e19 FLOPs)."""
    # BEGIN SOLUTION
    return flops / PF_DAY
    # END SOLUTION


def gpu_days(flops: float, peak_flops_per_s: float, mfu: float) -> float:
    """Accelerator-days for ``flops`` on devices of peak throughput ``peak_flops_per_s`` (FLOP/s) used at the
    model FLOPs utilisation ``mfu`` (a fraction in (0, 1]): flops / (peak * mfu) seconds, in days."""
    # BEGIN SOLUTION
    return flops / (peak_flops_per_s * mfu) / SECONDS_PER_DAY
    # END SOLUTION


def wall_clock_days(flops: float, n_gpus: int, peak_flops_per_s: float, mfu: float) -> float:
    """Days a run of ``flops`` takes on ``n_gpus`` devices working in parallel at utilisation ``mfu``."""
    # BEGIN SOLUTION
    return gpu_days(flops, peak_flops_per_s, mfu) / n_gpus
    # END SOLUTION


def mfu(tokens_per_s: float, flops_per_token: float, peak_flops_per_s: float) -> float:
    """Model FLOPs utilisation: the FLOP/s the model's arithmetic needs at the measured throughput
    (``tokens_per_s * flops_per_token``, e.g. 6 N per token for training) over the hardware's peak."""
    # BEGIN SOLUTION
    return tokens_per_s * flops_per_token / peak_flops_per_s
    # END SOLUTION
