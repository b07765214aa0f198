"""A correct a3 attention module written differently from the reference (the suite must give it full marks).

- softmax through logsumexp: exp(x - logsumexp(x));
- causal_attention with einsum and torch.where, the causal mask from index comparison;
- MultiHeadAttention splitting the fused projection with chunk and moving heads with permute, plus a
  registered buffer (extra state_dict keys the graders must tolerate).
"""

import torch
import torch.nn as nn
from torch import Tensor


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))


def causal_attention(q: Tensor, k: Tensor, v: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    T, d = q.shape[-2], q.shape[-1]
    scores = torch.einsum("...id,...jd->...ij", q, k) * d**-0.5
    rows = torch.arange(T, device=q.device)[:, None]
    cols = torch.arange(T, device=q.device)[None, :]
    allowed = cols <= rows  # [T, T]
    if attention_mask is not None:
        real = attention_mask != 0  # [B, T]
        shape = (real.shape[0],) + (1,) * (q.dim() - 2) + (T,)
        allowed = allowed & real.reshape(shape)
    scores = torch.where(allowed, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
    weights = softmax(scores, dim=-1)
    return torch.einsum("...ij,...jd->...id", weights, v)


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
        self.register_buffer("inv_scale", torch.tensor(float(self.head_dim)))

    def forward(self, x: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        B, T, _ = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        heads = [t.reshape(B, T, self.n_heads, self.head_dim).permute(0, 2, 1, 3) for t in (q, k, v)]
        y = causal_attention(*heads, attention_mask=attention_mask)
        return self.proj(y.permute(0, 2, 1, 3).flatten(2))
