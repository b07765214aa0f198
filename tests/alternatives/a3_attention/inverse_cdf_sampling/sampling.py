"""A correct a3 sampling module written differently from the reference (the suite must give it full marks).

- top-k by sorting and comparing with the k-th sorted value;
- top-p from an ascending sort: a token is removed when the mass of the tokens at most as likely as it,
  itself included, stays at or below 1 - top_p (the complement of the reference's rule);
- sampling by inverting the cumulative distribution (float64) with uniforms from the generator;
- generate filling a preallocated output tensor.
"""

import torch
import torch.nn as nn
from torch import Tensor


def filter_logits(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    if not temperature > 0:
        raise ValueError("temperature must be positive")
    if top_k is not None and top_k < 1:
        raise ValueError("top_k must be at least 1")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError("top_p must lie in (0, 1]")
    out = logits / temperature
    V = out.shape[-1]
    if top_k is not None and top_k < V:
        threshold = out.sort(dim=-1, descending=True).values[:, top_k - 1 : top_k]
        out = torch.where(out >= threshold, out, torch.full_like(out, float("-inf")))
    if top_p is not None and top_p < 1.0:
        ascending, order = out.sort(dim=-1)
        probs = ascending.softmax(dim=-1)
        tail_mass = probs.cumsum(dim=-1)  # mass of this token and all less likely ones
        remove = tail_mass <= 1.0 - top_p
        remove[:, -1] = False  # the most likely token stays
        removed = torch.empty_like(remove).scatter_(-1, order, remove)
        out = out.masked_fill(removed, float("-inf"))
    return out


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    if temperature == 0:
        return torch.argmax(logits, dim=-1)
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    probs = filter_logits(logits, temperature, top_k, top_p).double().softmax(dim=-1)  # [B, V]
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(probs.shape[0], 1, generator=generator, dtype=torch.float64) * cdf[:, -1:]
    picked = torch.searchsorted(cdf, u, right=True).squeeze(-1)
    return picked.clamp(max=probs.shape[-1] - 1)


def generate(
    model: nn.Module,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> Tensor:
    B, T = idx.shape
    window = model.config.block_size
    out = torch.empty(B, T + max_new_tokens, dtype=torch.long)
    out[:, :T] = idx
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    with torch.no_grad():
        for t in range(T, T + max_new_tokens):
            context = out[:, max(0, t - window) : t]
            last = model(context)[:, -1]
            out[:, t] = sample_next(last, temperature, top_k, top_p, generator=generator)
    return out
