"""Causal self-attention, the one operation that lets a decoder-only model read its own past.

Three pieces, each built on the previous one:

- ``softmax``: a numerically stable softmax (subtract the row maximum before ``exp``).
- ``causal_attention``: scaled dot-product attention in which position t may look only at positions <= t,
  optionally also ignoring padded keys.
- ``MultiHeadAttention``: one fused projection to queries, keys and values, ``n_heads`` attention computations
  in parallel, and an output projection.

Shapes use B = batch, H = heads, T = sequence length, d = head size, C = d_model = H * d.
Do not call ``torch.nn.functional.scaled_dot_product_attention``, ``torch.nn.MultiheadAttention`` or
``torch.nn.TransformerDecoder*`` here: the graders use them as the reference you are compared with.
"""

import math

import torch
import torch.nn as nn
from torch import Tensor


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Softmax of ``x`` along ``dim``, stable for large and infinite inputs.

    softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m) with m = max_j x_j. Subtracting the maximum changes
    nothing mathematically but keeps every ``exp`` argument <= 0, so ``x + 1000`` does not overflow.
    Entries equal to ``-inf`` get probability exactly 0, as long as the slice along ``dim`` holds at least
    one finite value (a slice that is entirely ``-inf`` has no defined softmax).

    Args:
        x: a floating-point tensor of any shape.
        dim: the axis along which the probabilities sum to 1.

    Returns:
        A tensor of the same shape and dtype as ``x``, non-negative, summing to 1 along ``dim``.
    """
    # BEGIN SOLUTION
    x_max = x.amax(dim=dim, keepdim=True)  # same shape as x, except size 1 along dim
    e = torch.exp(x - x_max)  # every exponent is <= 0, so 0 < e <= 1 and exp(-inf) = 0
    return e / e.sum(dim=dim, keepdim=True)
    # END SOLUTION


def causal_attention(q: Tensor, k: Tensor, v: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    """Causal scaled dot-product attention.

    For every query position i: scores_ij = q_i . k_j / sqrt(d) for key positions j <= i (later keys are
    masked out), weights = softmax over j, output_i = sum_j weights_ij v_j.

    Args:
        q: queries, shape [..., T, d]; usually [B, H, T, d].
        k: keys, same shape as ``q``.
        v: values, same shape as ``q``.
        attention_mask: optional padding mask of shape [B, T] (Hugging Face convention): 1 or True marks a
            real token, 0 or False a padding token. Requires ``q`` to have a leading batch axis of size B
            (shape [B, ..., T, d]). Padded positions are never attended to as keys. The outputs at padded
            query positions are unspecified (they are thrown away downstream and are not graded).

    Returns:
        The attention output, shape [..., T, d] (same as ``q``).
    """
    # BEGIN SOLUTION
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # [..., T, T]: row = query i, column = key j

    keep = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()  # [T, T], True where j <= i
    if attention_mask is not None:
        B = attention_mask.shape[0]
        # [B, T] -> [B, 1, ..., 1, T] so that it broadcasts over heads and query rows and selects key columns
        key_is_real = attention_mask.to(torch.bool).view(B, *([1] * (q.dim() - 2)), T)
        keep = keep & key_is_real  # [B, ..., T, T]
    scores = scores.masked_fill(~keep, float("-inf"))

    weights = softmax(scores, dim=-1)  # [..., T, T]: each row sums to 1 over the keys
    return weights @ v  # [..., T, d]
    # END SOLUTION


class MultiHeadAttention(nn.Module):
    """Multi-head causal self-attention (the GPT-2 layout).

    Parameters, with pinned names (the graders load weights into them by name):

    - ``qkv = nn.Linear(d_model, 3 * d_model)``: one fused projection. Its output, read along the last axis,
      is [q | k | v], each of size d_model; each of q, k and v is split into heads by
      ``.view(B, T, n_heads, head_dim)``, so head h owns features h * head_dim ... (h + 1) * head_dim - 1.
    - ``proj = nn.Linear(d_model, d_model)``: the output projection applied after the heads are concatenated
      back in head order.

    Args:
        d_model: model width C; must be divisible by ``n_heads``.
        n_heads: number of heads H; each head has size head_dim = d_model // n_heads.
    """

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        # BEGIN SOLUTION
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        # END SOLUTION

    def forward(self, x: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Attend causally within each sequence of ``x``.

        Args:
            x: input activations, shape [B, T, d_model].
            attention_mask: optional [B, T] padding mask, 1/True = real token (see ``causal_attention``).

        Returns:
            Output activations, shape [B, T, d_model].
        """
        # BEGIN SOLUTION
        B, T, C = x.shape
        H, hd = self.n_heads, self.head_dim
        q, k, v = self.qkv(x).split(C, dim=-1)  # three tensors [B, T, C]
        q = q.view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]
        k = k.view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]
        v = v.view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]

        y = causal_attention(q, k, v, attention_mask)  # [B, H, T, hd]
        y = y.transpose(1, 2).reshape(B, T, C)  # heads side by side again: [B, T, C]
        return self.proj(y)  # [B, T, C]
        # END SOLUTION
