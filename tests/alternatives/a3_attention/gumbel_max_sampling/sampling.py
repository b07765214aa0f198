"""A correct a3 sampling module written differently from the reference (the suite must give it full marks).

- filter_logits one row at a time, with Python loops;
- sampling with the Gumbel-max trick: argmax(logits - log(-log(u))) is distributed as softmax(logits), and
  tokens whose logit is -inf are never chosen;
- generate keeping a list of new columns and concatenating them once at the end.
"""

import torch
import torch.nn as nn
from torch import Tensor


def _filter_row(row: Tensor, top_k: int | None, top_p: float | None) -> Tensor:
    order = sorted(range(row.numel()), key=lambda j: -float(row[j]))
    keep = order if top_k is None else order[:top_k]
    if top_p is not None and top_p < 1:
        probs = torch.softmax(row[keep], dim=0)  # in decreasing order
        total, n = 0.0, 0
        for prob in probs.tolist():
            n += 1
            total += prob
            if total >= top_p:
                break
        keep = keep[:n]
    out = torch.full_like(row, float("-inf"))
    index = torch.tensor(keep, dtype=torch.long)
    out[index] = row[index]
    return out


def filter_logits(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    if temperature <= 0 or (top_k is not None and top_k < 1) or (top_p is not None and not 0 < top_p <= 1):
        raise ValueError("invalid sampling parameters")
    scaled = logits / temperature
    return torch.stack([_filter_row(row, top_k, top_p) for row in scaled])


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    if temperature == 0:
        return logits.argmax(dim=-1)
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    filtered = filter_logits(logits, temperature, top_k, top_p).double()
    u = torch.rand(filtered.shape, generator=generator, dtype=torch.float64).clamp(min=1e-300)
    return (filtered - torch.log(-torch.log(u))).argmax(dim=-1)


def generate(
    model: nn.Module,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> Tensor:
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    new: list[Tensor] = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            sequence = torch.cat([idx, *new], dim=1) if new else idx
            logits = model(sequence[:, -model.config.block_size :])[:, -1, :]
            new.append(sample_next(logits, temperature, top_k, top_p, generator=generator)[:, None])
    return torch.cat([idx, *new], dim=1)
