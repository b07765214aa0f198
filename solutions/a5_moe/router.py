"""Routing: which k of the E experts each token goes to, and with what weight.

A router is one linear map from a token's hidden state to E logits, one per expert. Three ways to turn the
logits into a sparse choice:

- ``top_k_gating``: Mixtral's rule. Softmax over all E experts, keep the k largest probabilities and
  renormalise them to sum to 1 (the same numbers as a softmax over the k chosen logits).
- ``switch_gating``: the Switch Transformer's top-1 rule. The single best expert, weighted by its softmax
  probability (not renormalised, which would always give 1 and no gradient to the router).
- ``noisy_top_k_gating``: Shazeer et al. (2017). Learned, input-dependent Gaussian noise is added to the
  logits before the top-k, which spreads tokens over experts early in training.

Shapes: N = number of tokens (batch and sequence flattened), C = d_model, E = number of experts, k = experts
per token. Ties between equal logits are broken towards the **lower expert index**, and the k chosen experts
of a token are listed in decreasing order of their gate (lower index first among equal gates).
"""

import torch
import torch.nn.functional as F
from torch import Tensor


def top_k_gating(logits: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Mixtral's top-k routing: softmax, top-k, renormalise over the chosen experts.

    Args:
        logits: router logits, shape [N, E].
        k: experts per token, 1 <= k <= E.

    Returns:
        ``(gates, experts)``: ``gates`` [N, k] in the dtype of ``logits``, non-negative, each row summing to
        1; ``experts`` [N, k] int64 expert indices, distinct within a row, ordered by decreasing gate, ties
        (equal logits) resolved towards the lower expert index.
    """
    # BEGIN SOLUTION
    probs = torch.softmax(logits, dim=-1)  # [N, E]
    # a stable descending sort keeps equal probabilities in index order: the pinned tie-break (torch.topk
    # makes no promise about ties)
    top_probs, experts = torch.sort(probs, dim=-1, descending=True, stable=True)
    top_probs, experts = top_probs[:, :k], experts[:, :k]  # [N, k]
    gates = top_probs / top_probs.sum(dim=-1, keepdim=True)  # renormalise over the k chosen experts
    return gates, experts
    # END SOLUTION


def switch_gating(logits: Tensor) -> tuple[Tensor, Tensor]:
    """Switch Transformer top-1 routing: the best expert, weighted by its router probability.

    Args:
        logits: router logits, shape [N, E].

    Returns:
        ``(gate, expert)``: ``gate`` [N], the softmax probability of the chosen expert (in (0, 1], not
        renormalised); ``expert`` [N] int64, the argmax, the lower index on ties.
    """
    # BEGIN SOLUTION
    probs = torch.softmax(logits, dim=-1)  # [N, E]
    gate, expert = probs.max(dim=-1)  # max returns the first (lowest) index among equal maxima
    return gate, expert
    # END SOLUTION


def noisy_top_k_gating(
    x: Tensor, w_gate: Tensor, w_noise: Tensor, k: int, seed: int | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Noisy top-k gating (Shazeer et al. 2017, section 2.1).

    H = x @ w_gate + noise * softplus(x @ w_noise), with ``noise`` a standard normal [N, E] drawn as
    ``torch.randn(N, E, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)``. The gates are the
    softmax over the k largest entries of H (the others set to -inf), which is the same as a softmax over H
    followed by top-k and renormalisation. With ``seed=None`` (evaluation) no noise is added and H is the
    clean logits.

    Args:
        x: token states, [N, C].
        w_gate: [C, E], the clean router weights.
        w_noise: [C, E], the weights of the per-expert noise scale.
        k: experts per token.
        seed: seeds the noise; ``None`` switches the noise off.

    Returns:
        ``(gates, experts, logits)``: gates [N, k] and experts [N, k] int64 as in ``top_k_gating`` (ties to
        the lower index), and the noisy logits H [N, E] they were computed from.
    """
    # BEGIN SOLUTION
    logits = x @ w_gate  # [N, E]
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(logits.shape, generator=generator, dtype=x.dtype)  # [N, E]
        logits = logits + noise * F.softplus(x @ w_noise)  # softplus keeps the noise scale positive
    gates, experts = top_k_gating(logits, k)
    return gates, experts, logits
    # END SOLUTION
