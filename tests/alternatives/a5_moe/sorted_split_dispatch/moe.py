"""Dispatch written with one sort of all assignments by expert and ``torch.split`` into per-expert batches."""

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
    return math.ceil(n_tokens * k * capacity_factor / n_experts)


def queue_positions(expert_index: Tensor, n_experts: int) -> Tensor:
    flat = expert_index.flatten()
    # sort key: expert first, then flat id (token order); unique keys, so any sort is stable enough
    order = torch.argsort(flat * flat.numel() + torch.arange(flat.numel()))
    sorted_experts = flat[order]
    is_start = torch.ones_like(sorted_experts, dtype=torch.bool)
    is_start[1:] = sorted_experts[1:] != sorted_experts[:-1]
    start_pos = torch.where(is_start, torch.arange(flat.numel()), torch.zeros_like(flat))
    group_start = torch.cummax(start_pos, dim=0).values
    pos = torch.empty_like(flat)
    pos[order] = torch.arange(flat.numel()) - group_start
    return pos.view_as(expert_index)


def dispatch_combine(
    x: Tensor, expert_index: Tensor, gates: Tensor, experts: nn.ModuleList, capacity: int | None = None
) -> tuple[Tensor, Tensor]:
    N, k = expert_index.shape
    E = len(experts)
    if capacity is None:
        kept = torch.ones_like(expert_index, dtype=torch.bool)
    else:
        kept = queue_positions(expert_index, E) < capacity
    flat_e = expert_index.flatten()
    ids = torch.nonzero(kept.flatten()).squeeze(-1)  # kept flat assignment ids
    ids = ids[torch.argsort(flat_e[ids], stable=True)]
    counts = torch.bincount(flat_e[ids], minlength=E).tolist()
    outputs = []
    for expert, chunk in zip(experts, torch.split(ids, counts), strict=True):
        if chunk.numel():
            outputs.append(expert(x[chunk // k]) * gates.flatten()[chunk, None])
    y = torch.zeros_like(x)
    if outputs:
        y = y.index_add(0, ids // k, torch.cat(outputs))
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
        B, T, C = x.shape
        h = x.view(-1, C)
        logits = h @ self.gate.weight.T
        gates, idx = top_k_gating(logits, self.top_k)
        cap = (
            None
            if self.capacity_factor is None
            else expert_capacity(B * T, self.n_experts, self.top_k, self.capacity_factor)
        )
        y, kept = dispatch_combine(h, idx, gates, self.experts, cap)
        n_dropped = int((~kept).sum())
        aux = {
            "router_logits": logits,
            "gates": gates,
            "expert_index": idx,
            "kept": kept,
            "drop_rate": n_dropped / kept.numel(),
        }
        return (h + y).view(B, T, C), aux
