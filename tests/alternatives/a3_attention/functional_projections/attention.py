"""A correct a3 attention module written differently from the reference (the suite must give it full marks).

It imports ``torch.nn.functional`` for what the handout allows, to show that the forbidden-call rule is about
the library attention only, not about the module it lives in:

- softmax with ``torch.amax`` and in-graph normalisation;
- causal_attention masking with ``torch.where`` and a mask from ``torch.tril`` on the inputs' device;
- MultiHeadAttention applying its pinned ``qkv`` and ``proj`` weights with ``F.linear`` and merging heads with
  ``flatten``.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    e = torch.exp(x - torch.amax(x, dim=dim, keepdim=True))
    return e / torch.sum(e, dim=dim, keepdim=True)


def causal_attention(q: Tensor, k: Tensor, v: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    T, d = q.shape[-2], q.shape[-1]
    scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d))  # [..., T, T]
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool, device=q.device))  # [T, T]
    if attention_mask is not None:
        real = attention_mask.bool().reshape(attention_mask.shape[0], *([1] * (q.dim() - 2)), T)
        allowed = allowed & real  # [B, ..., T, T]
    scores = torch.where(allowed, scores, torch.full_like(scores, float("-inf")))
    return torch.matmul(softmax(scores, dim=-1), v)  # [..., T, d]


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        B, T, C = x.shape
        fused = F.linear(x, self.qkv.weight, self.qkv.bias)  # [B, T, 3C]
        q, k, v = (
            part.view(B, T, self.n_heads, self.head_dim).transpose(1, 2) for part in fused.split(C, dim=-1)
        )  # each [B, H, T, hd]
        y = causal_attention(q, k, v, attention_mask)  # [B, H, T, hd]
        y = y.transpose(1, 2).flatten(2)  # [B, T, C]
        return F.linear(y, self.proj.weight, self.proj.bias)
