"""Trusted-side oracles of the a5 hidden suite: the library code and loops the submission is compared with.

- Hugging Face ``MixtralTopKRouter`` (softmax, ``torch.topk``, renormalise) and ``MixtralSparseMoeBlock``,
  built offline from tiny random configs, with their fused 3-D expert tensors converted to the kit's names;
  ``load_balancing_loss_func``; ``MixtralForCausalLM`` and ``Qwen2MoeForCausalLM`` on the meta device for
  parameter counts;
- loops: the MoE one token at a time (the second path), queue positions one assignment at a time;
- the pinned tie-break (a stable sort), Switch's top-1, and noisy gating with the pinned noise.

Test files import it as ``_oracles`` (the runner puts the suite's folder on sys.path); it never imports
student code. The shared helpers come from the public tests' ``_common.py``, so that both suites convert
weights the same way.
"""

from __future__ import annotations

import math
import sys

import torch
import torch.nn.functional as F

from autograder.course import kit_root

sys.path.insert(0, str(kit_root() / "tests" / "public" / "a5_moe"))
from _common import (  # noqa: E402, F401 - part of this module's interface
    MixtralConfig,
    MixtralForCausalLM,
    Qwen2MoeConfig,
    Qwen2MoeForCausalLM,
    hf_balancing_loss,
    hf_block_output,
    hf_moe_block,
    kit_state_dict,
    load_weights,
    loop_moe,
    mixtral_config,
    mixtral_counts,
    qwen_moe_counts,
    random_experts,
    student_layer,
)
from transformers.models.mixtral.modeling_mixtral import MixtralTopKRouter  # noqa: E402


def hf_router(logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(gates, experts) of HF's ``MixtralTopKRouter`` given the logits (identity input, router weight = W^T
    would do the same; here the router's softmax-topk-renormalise is applied to the logits directly)."""
    N, E = logits.shape
    router = MixtralTopKRouter(mixtral_config(d_model=E, d_ff=1, n_experts=E, top_k=k))
    with torch.no_grad():
        router.weight.copy_(torch.eye(E))  # then the router's logits are its input
        _, gates, experts = router(logits)
    return gates, experts


def pinned_top_k(logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k routing with the pinned order: decreasing gate, the lower index first among equal logits."""
    probs = torch.softmax(logits.double(), dim=-1)
    top, experts = torch.sort(probs, dim=-1, descending=True, stable=True)
    top = top[:, :k]
    return (top / top.sum(-1, keepdim=True)).to(logits.dtype), experts[:, :k]


def noise(N: int, E: int, seed: int, dtype=torch.float32) -> torch.Tensor:
    """The pinned noise of noisy top-k gating."""
    return torch.randn(N, E, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def noisy_logits(x, w_gate, w_noise, seed):
    H = x @ w_gate
    if seed is None:
        return H
    return H + noise(*H.shape, seed, H.dtype) * F.softplus(x @ w_noise)


def queue_loop(expert_index: torch.Tensor) -> torch.Tensor:
    """Queue positions [N, k], one assignment at a time in token order."""
    N, k = expert_index.shape
    seen: dict[int, int] = {}
    out = torch.empty(N, k, dtype=torch.int64)
    for n in range(N):
        for j in range(k):
            e = int(expert_index[n, j])
            out[n, j] = seen.get(e, 0)
            seen[e] = seen.get(e, 0) + 1
    return out


def random_assignments(rng: torch.Generator, N: int, E: int, k: int, skew: float = 0.0) -> torch.Tensor:
    """[N, k] int64 expert ids, distinct within a row; with ``skew`` > 0 low-index experts are favoured, so
    their queues overflow."""
    scores = torch.rand(N, E, generator=rng) - skew * torch.arange(E, dtype=torch.float32) / E
    return torch.sort(scores, dim=-1, descending=True, stable=True).indices[:, :k]


def capacity(n_tokens: int, n_experts: int, k: int, cf: float) -> int:
    return math.ceil(n_tokens * k * cf / n_experts)


def switch_loss(logits: torch.Tensor, alpha: float) -> float:
    N, E = logits.shape
    p = torch.softmax(logits.double(), -1)
    f = torch.bincount(p.argmax(-1), minlength=E).double() / N
    return float(alpha * E * (f * p.mean(0)).sum())


def flops_oracle(model_cls, config, n_experts: int, top_k: int) -> int:
    """2 x the weights of every matrix a token meets in the HF model on the meta device: every weight of two
    or more axes except the embedding table, the routed experts' scaled by k / E, and the output head (added
    when it is tied to the embedding and therefore listed only once)."""
    with torch.device("meta"):
        model = model_cls(config)
    total = 0
    for name, p in model.named_parameters():
        if p.dim() < 2 or "embed_tokens" in name:
            continue
        n = p.numel()
        if ".mlp.experts." in name:
            n = n * top_k // n_experts
        total += n
    if config.tie_word_embeddings:
        total += config.vocab_size * config.hidden_size
    return 2 * total
