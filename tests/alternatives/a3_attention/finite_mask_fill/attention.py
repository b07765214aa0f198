"""A correct a3 attention module written differently from the reference (the suite must give it full marks).

causal_attention masks scores with the most negative finite number of their dtype instead of ``-inf`` (what
Hugging Face's models do). Wherever a query sees at least one key the result is the same, since
``exp(min - max)`` is exactly 0; a query whose every key is masked gets the plain mean of all values instead
of NaN. The handout leaves those rows unspecified, so the suite must accept any value there.
"""

import math

import torch
import torch.nn as nn
from torch import Tensor


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def causal_attention(q: Tensor, k: Tensor, v: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # [..., T, T]
    keep = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    if attention_mask is not None:
        B = attention_mask.shape[0]
        keep = keep & attention_mask.to(torch.bool).view(B, *([1] * (q.dim() - 2)), T)
    scores = scores.masked_fill(~keep, torch.finfo(scores.dtype).min)  # finite: no NaN in fully masked rows
    return softmax(scores, dim=-1) @ v


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
        q, k, v = (
            t.view(B, T, self.n_heads, self.head_dim).transpose(1, 2) for t in self.qkv(x).split(C, -1)
        )
        y = causal_attention(q, k, v, attention_mask)  # [B, H, T, hd]
        return self.proj(y.transpose(1, 2).reshape(B, T, C))
