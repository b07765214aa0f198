"""Scale, put into exact numbers: how many parameters a decoder-only transformer has, and how many bytes they
and their training state take.

Configurations are plain dicts (the keys are pinned in the handout):

GPT-2 style (learned positions, LayerNorm with bias, GELU MLP, biases on every Linear)::

    {"vocab_size": V, "n_positions": P, "d_model": d, "n_layers": L, "n_heads": H,
     "d_ff": 4 * d (optional, default 4 * d), "tied": True (optional, default True)}

LLaMA style (RMSNorm without bias, SwiGLU MLP, grouped-query attention, no biases, rotary positions)::

    {"vocab_size": V, "d_model": d, "n_layers": L, "n_heads": H, "n_kv_heads": H_kv (default H),
     "head_dim": d / H (optional), "d_ff": F, "tied": False (optional, default False),
     "n_experts": E (optional, MoE), "experts_per_token": k (optional, MoE)}

All counts are exact integers, the tied matrix counted once, as ``sum(p.numel() for p in model.parameters())``
counts it.
"""

from __future__ import annotations


def _head_dim(config: dict) -> int:
    return config.get("head_dim") or config["d_model"] // config["n_heads"]


def gpt2_params(config: dict) -> int:
    """Parameters of a GPT-2 style model.

    Per block: ln_1 and ln_2 (weight and bias, d each), the fused QKV projection (d -> 3d with bias), the
    attention output projection (d -> d with bias), the MLP (d -> d_ff -> d, both with bias). Outside the
    blocks: the token embedding V x d, the position embedding P x d, the final LayerNorm (2d), and an output
    head V x d without bias unless it is tied to the token embedding.
    """
    # BEGIN SOLUTION
    V, P, d, L = config["vocab_size"], config["n_positions"], config["d_model"], config["n_layers"]
    d_ff = config.get("d_ff") or 4 * d
    attention = (d * 3 * d + 3 * d) + (d * d + d)
    mlp = (d * d_ff + d_ff) + (d_ff * d + d)
    norms = 2 * (2 * d)
    block = attention + mlp + norms
    embeddings = V * d + P * d
    head = 0 if config.get("tied", True) else V * d
    return embeddings + L * block + 2 * d + head
    # END SOLUTION


def _llama_attention(config: dict) -> int:
    """q, k, v and output projections of one LLaMA block, without biases."""
    d, H = config["d_model"], config["n_heads"]
    H_kv, h = config.get("n_kv_heads") or H, _head_dim(config)
    return d * H * h + 2 * d * H_kv * h + H * h * d


def llama_params(config: dict) -> int:
    """Total parameters of a LLaMA style model (dense, or MoE when ``n_experts`` is given).

    Per block: two RMSNorm weights (d each), the attention projections q (d -> H*h), k and v (d -> H_kv*h
    each)
    and o (H*h -> d), and the SwiGLU MLP with three matrices gate and up (d -> F) and down (F -> d), all
    without
    biases. An MoE block has ``n_experts`` such MLPs and a router (d -> E, no bias). Outside the blocks: the
    token embedding V x d, the final RMSNorm (d) and the output head V x d unless tied.
    """
    # BEGIN SOLUTION
    V, d, L, d_ff = config["vocab_size"], config["d_model"], config["n_layers"], config["d_ff"]
    E = config.get("n_experts") or 1
    mlp = 3 * d * d_ff
    router = d * E if config.get("n_experts") else 0
    block = _llama_attention(config) + E * mlp + router + 2 * d
    head = 0 if config.get("tied", False) else V * d
    return V * d + L * block + d + head
    # END SOLUTION


def moe_active_params(config: dict) -> int:
    """Parameters used for one token by a LLaMA style MoE model: every shared part (embeddings, attention,
    norms, router, output head) plus ``experts_per_token`` of the ``n_experts`` expert MLPs in each block.
    For a dense config (no ``n_experts``) it equals ``llama_params``.
    """
    # BEGIN SOLUTION
    if not config.get("n_experts"):
        return llama_params(config)
    d, L, d_ff = config["d_model"], config["n_layers"], config["d_ff"]
    unused = config["n_experts"] - config["experts_per_token"]
    return llama_params(config) - L * unused * 3 * d * d_ff
    # END SOLUTION


def non_embedding_params(config: dict) -> int:
    """Kaplan et al.'s N for a GPT-2 style config: every parameter except the token and position embeddings
    (and so except a tied output head, which is the token embedding). An untied head counts: it is a matmul.
    """
    # BEGIN SOLUTION
    V, P, d = config["vocab_size"], config["n_positions"], config["d_model"]
    return gpt2_params(config) - V * d - P * d
    # END SOLUTION


def memory_bytes(n_params: int, setup: str) -> dict[str, int]:
    """Bytes of model state for ``n_params`` parameters under ``setup``: one of "fp32_adam", "mixed_adam",
    "fp32_sgd", "fp32_inference", "bf16_inference" (the handout's table gives the bytes per parameter).

    Returns {"weights": ..., "gradients": ..., "optimizer": ..., "total": ...}, exact integers. Activations
    are
    not included (see ``activation_bytes``). Raises ValueError for an unknown setup.
    """
    # BEGIN SOLUTION
    # Bytes per parameter: (weights, gradients, optimizer state). Mixed precision keeps an fp32 master copy of
    # the weights inside the optimizer state, beside Adam's fp32 momentum and variance (ZeRO, section 3.1).
    bytes_per_param = {
        "fp32_adam": (4, 4, 8),
        "mixed_adam": (2, 2, 4 + 4 + 4),
        "fp32_sgd": (4, 4, 0),  # plain SGD keeps no state
        "fp32_inference": (4, 0, 0),
        "bf16_inference": (2, 0, 0),
    }
    if setup not in bytes_per_param:
        raise ValueError(f"unknown setup {setup!r}; expected one of {sorted(bytes_per_param)}")
    weights, gradients, optimizer = (n_params * b for b in bytes_per_param[setup])
    return {
        "weights": weights,
        "gradients": gradients,
        "optimizer": optimizer,
        "total": weights + gradients + optimizer,
    }
    # END SOLUTION


def activation_bytes(config: dict, seq_len: int, batch_size: int) -> int:
    """Activation memory of a training step in 16-bit precision without recomputation, by the estimate of
    Korthikanti et al. (2022), per block ``s * b * d * (34 + 5 * H * s / d)`` bytes, times ``n_layers``.

    s = ``seq_len``, b = ``batch_size``, d = ``d_model``, H = ``n_heads``. Exact integer:
    ``n_layers * (34 * s * b * d + 5 * H * s * s * b)``.
    """
    # BEGIN SOLUTION
    s, b, d = seq_len, batch_size, config["d_model"]
    return config["n_layers"] * (34 * s * b * d + 5 * config["n_heads"] * s * s * b)
    # END SOLUTION
