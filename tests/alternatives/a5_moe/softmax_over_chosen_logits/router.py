"""Routing written as top-k over the logits, then a softmax over the k chosen logits (the same gates as
softmax, top-k, renormalise; the order of the logits is the order of the probabilities)."""

import torch
import torch.nn.functional as F
from torch import Tensor


def _top_k_indices(scores: Tensor, k: int) -> Tensor:
    # softmax is monotone, so ranking the logits ranks the probabilities; stable keeps the lower index first
    return torch.sort(scores, dim=-1, descending=True, stable=True).indices[:, :k]


def top_k_gating(logits: Tensor, k: int) -> tuple[Tensor, Tensor]:
    experts = _top_k_indices(logits, k)  # [N, k]
    chosen = logits.gather(-1, experts)  # [N, k]
    return F.softmax(chosen, dim=-1), experts


def switch_gating(logits: Tensor) -> tuple[Tensor, Tensor]:
    expert = _top_k_indices(logits, 1)[:, 0]
    log_probs = logits.log_softmax(dim=-1)
    return log_probs.gather(-1, expert[:, None])[:, 0].exp(), expert


def noisy_top_k_gating(
    x: Tensor, w_gate: Tensor, w_noise: Tensor, k: int, seed: int | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    H = torch.einsum("nc,ce->ne", x, w_gate)
    if seed is not None:
        g = torch.Generator().manual_seed(seed)
        H = H + torch.randn(H.shape, generator=g, dtype=x.dtype) * F.softplus(
            torch.einsum("nc,ce->ne", x, w_noise)
        )
    gates, experts = top_k_gating(H, k)
    return gates, experts, H
