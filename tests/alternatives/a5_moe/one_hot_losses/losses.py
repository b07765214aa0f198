"""Losses written with one-hot counts and a hand-written stable log-sum-exp."""

import torch
import torch.nn.functional as F
from torch import Tensor


def _lse(z: Tensor) -> Tensor:
    m = z.max(dim=-1, keepdim=True).values
    return (m + (z - m).exp().sum(dim=-1, keepdim=True).log()).squeeze(-1)


def load_balancing_loss(router_logits: Tensor, top_k: int) -> Tensor:
    E = router_logits.shape[-1]
    probs = F.softmax(router_logits, dim=-1)
    mask = F.one_hot(probs.topk(top_k, dim=-1).indices, E).sum(dim=1).to(probs.dtype)  # [N, E]
    return E * (mask.mean(0) * probs.mean(0)).sum()


def switch_balancing_loss(router_logits: Tensor, alpha: float = 1e-2) -> Tensor:
    E = router_logits.shape[-1]
    probs = F.softmax(router_logits, dim=-1)
    f = F.one_hot(router_logits.argmax(dim=-1), E).to(probs.dtype).mean(0)
    return alpha * E * torch.dot(f, probs.mean(0))


def router_z_loss(router_logits: Tensor) -> Tensor:
    return _lse(router_logits).pow(2).mean()


def expert_load(expert_index: Tensor, n_experts: int) -> Tensor:
    return F.one_hot(expert_index.flatten(), n_experts).float().mean(0)


def load_imbalance(expert_index: Tensor, n_experts: int) -> float:
    return expert_load(expert_index, n_experts).max().item() * n_experts
