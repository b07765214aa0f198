"""Dispatch written GShard-style: queue positions from a cumulative sum of one-hot assignments, and each
expert's tokens found with ``nonzero``."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from router import top_k_gating
from torch import Tensor


class Expert(nn.Module):
    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


def expert_capacity(n_tokens: int, n_experts: int, k: int, capacity_factor: float) -> int:
    spread = n_tokens * k * capacity_factor / n_experts
    return int(spread) if spread == int(spread) else int(math.floor(spread)) + 1


def queue_positions(expert_index: Tensor, n_experts: int) -> Tensor:
    N, k = expert_index.shape
    one_hot = F.one_hot(expert_index.reshape(-1), n_experts)  # [N*k, E], rows in token order
    before = one_hot.cumsum(dim=0) - one_hot  # assignments to each expert strictly before this one
    return (before * one_hot).sum(dim=-1).view(N, k)


def dispatch_combine(
    x: Tensor, expert_index: Tensor, gates: Tensor, experts: nn.ModuleList, capacity: int | None = None
) -> tuple[Tensor, Tensor]:
    N, k = expert_index.shape
    kept = torch.ones(N, k, dtype=torch.bool)
    if capacity is not None:
        kept = queue_positions(expert_index, len(experts)) < capacity
    y = x.new_zeros(x.shape)
    for e, expert in enumerate(experts):
        token, slot = torch.nonzero((expert_index == e) & kept, as_tuple=True)
        if token.numel() == 0:
            continue
        y = y.index_add(0, token, gates[token, slot].unsqueeze(-1) * expert(x[token]))
    return y, kept


class MoELayer(nn.Module):
    def __init__(
        self, d_model: int, d_ff: int, n_experts: int, top_k: int, capacity_factor: float | None = None
    ) -> None:
        super().__init__()
        self.n_experts = n_experts
        self.top_k = top_k
        self.capacity_factor = capacity_factor
        self.gate = nn.Linear(d_model, n_experts, bias=False)
        self.experts = nn.ModuleList(Expert(d_model, d_ff) for _ in range(n_experts))

    def forward(self, x: Tensor) -> tuple[Tensor, dict]:
        flat = x.flatten(0, 1)
        logits = self.gate(flat)
        gates, idx = top_k_gating(logits, self.top_k)
        cap = None
        if self.capacity_factor is not None:
            cap = expert_capacity(flat.shape[0], self.n_experts, self.top_k, self.capacity_factor)
        y, kept = dispatch_combine(flat, idx, gates, self.experts, cap)
        dropped = (~kept).sum().item() / kept.numel()
        aux = dict(router_logits=logits, gates=gates, expert_index=idx, kept=kept, drop_rate=float(dropped))
        return x + y.view_as(x), aux
