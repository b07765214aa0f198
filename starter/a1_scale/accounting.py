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
    raise NotImplementedError("replace this line with your solution")


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
    raise NotImplementedError("replace this line with your solution")


def moe_active_params(config: dict) -> int:
    """Parameters used for one token by a LLaMA style MoE model: every shared part (embeddings, attention,
    norms, router, output head) plus ``experts_per_token`` of the ``n_experts`` expert MLPs in each block.
    For a dense config (no ``n_experts``) it equals ``llama_params``.
    """
    raise NotImplementedError("replace this line with your solution")


def non_embedding_params(config: dict) -> int:
    """Kaplan et al.'s N for a GPT-2 style config: every parameter except the token and position embeddings
    (and so except a tied output head, which is the token embedding). An untied head counts: it is a matmul.
    """
    raise NotImplementedError("replace this line with your solution")


def memory_bytes(n_params: int, setup: str) -> dict[str, int]:
    """Bytes of model state for ``n_params`` parameters under ``setup``: one of "fp32_adam", "mixed_adam",
    "fp32_sgd", "fp32_inference", "bf16_inference" (the handout's table gives the bytes per parameter).

    Returns {"weights": ..., "gradients": ..., "optimizer": ..., "total": ...}, exact integers. Activations
    are
    not included (see ``activation_bytes``). Raises ValueError for an unknown setup.
    """
    raise NotImplementedError("replace this line with your solution")


def activation_bytes(config: dict, seq_len: int, batch_size: int) -> int:
    """Activation memory of a training step in 16-bit precision without recomputation, by the estimate of
    Korthikanti et al. (2022), per block ``s * b * d * (34 + 5 * H * s / d)`` bytes, times ``n_layers``.

    s = ``seq_len``, b = ``batch_size``, d = ``d_model``, H = ``n_heads``. Exact integer:
    ``n_layers * (34 * s * b * d + 5 * H * s * s * b)``.
    """
    raise NotImplementedError("replace this line with your solution")
