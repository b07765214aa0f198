"""A correct a3 attention module written differently from the reference (the suite must give it full marks).

- softmax computed on the last axis after moving ``dim`` there, with torch.max;
- causal_attention with an additive mask of -1e9 (exp underflows to exactly 0 in float32 and float64);
- MultiHeadAttention as a Python loop over heads, slicing q, k and v per head.
"""

import math

import torch
import torch.nn as nn
from torch import Tensor

NEG = -1e9


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    moved = x.movedim(dim, -1)
    top = torch.max(moved, dim=-1, keepdim=True).values
    e = (moved - top).exp()
    return (e / e.sum(-1, keepdim=True)).movedim(-1, dim)


def causal_attention(q: Tensor, k: Tensor, v: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    T, d = q.shape[-2], q.shape[-1]
    full = torch.full((T, T), NEG, dtype=q.dtype, device=q.device)
    bias = torch.triu(full, diagonal=1)  # NEG above the diagonal
    if attention_mask is not None:
        pad = (1 - attention_mask.to(q.dtype)) * NEG  # [B, T]: NEG on padded keys
        bias = bias + pad.view(pad.shape[0], *([1] * (q.dim() - 2)), T)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + bias
    return torch.matmul(softmax(scores, dim=-1), v)


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
        C, hd = self.d_model, self.head_dim
        fused = self.qkv(x)  # [B, T, 3C]
        outputs = []
        for h in range(self.n_heads):
            q = fused[..., h * hd : (h + 1) * hd]
            k = fused[..., C + h * hd : C + (h + 1) * hd]
            v = fused[..., 2 * C + h * hd : 2 * C + (h + 1) * hd]
            outputs.append(causal_attention(q, k, v, attention_mask))  # [B, T, hd]
        return self.proj(torch.cat(outputs, dim=-1))
