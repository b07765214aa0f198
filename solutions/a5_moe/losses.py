"""Auxiliary losses that keep a router from collapsing onto a few experts, and load statistics.

A router trained only on the language-modelling loss tends to favour the experts that happen to be good
early, which then get more tokens and become better still: a rich-get-richer loop that leaves most experts
idle. The balancing loss makes the router pay for uneven load; the z-loss keeps its logits small, which keeps
the softmax (and the float arithmetic of large logits) well-behaved.

Shapes: N tokens, E experts, k experts per token. Every loss is a 0-d tensor, differentiable in the logits.
"""

import torch
from torch import Tensor


def load_balancing_loss(router_logits: Tensor, top_k: int) -> Tensor:
    """The balancing loss as ``transformers`` computes it for Mixtral: E * sum_i f_i * P_i.

    p = softmax(router_logits) [N, E]; f_i = (number of top-k assignments to expert i) / N, so that
    sum_i f_i = k; P_i = mean over tokens of p[:, i]. Perfectly uniform routing gives k. The top-k choice
    is not differentiable: gradients flow through P only.

    Args:
        router_logits: [N, E] (several layers' logits may be concatenated along N).
        top_k: k.
    """
    # BEGIN SOLUTION
    N, E = router_logits.shape
    probs = torch.softmax(router_logits, dim=-1)  # [N, E]
    chosen = torch.topk(probs, top_k, dim=-1).indices  # [N, k]; ties do not change the counts' sum
    counts = torch.zeros(E, dtype=probs.dtype, device=probs.device).scatter_add_(
        0, chosen.reshape(-1), torch.ones(N * top_k, dtype=probs.dtype, device=probs.device)
    )
    f = counts / N  # [E], sums to k
    P = probs.mean(dim=0)  # [E], sums to 1
    return E * torch.sum(f * P)
    # END SOLUTION


def switch_balancing_loss(router_logits: Tensor, alpha: float = 1e-2) -> Tensor:
    """The Switch Transformer's balancing loss (Fedus et al. 2021, eq. 4): alpha * E * sum_i f_i * P_i.

    f_i = fraction of tokens whose argmax expert is i (sums to 1), P_i = mean router probability of expert i.
    Uniform routing gives exactly alpha, whatever E is: that is what the factor E is for.

    Args:
        router_logits: [N, E].
        alpha: the loss coefficient (1e-2 in Switch).
    """
    # BEGIN SOLUTION
    N, E = router_logits.shape
    probs = torch.softmax(router_logits, dim=-1)  # [N, E]
    f = torch.bincount(probs.argmax(dim=-1), minlength=E).to(probs.dtype) / N  # [E], sums to 1
    P = probs.mean(dim=0)  # [E]
    return alpha * E * torch.sum(f * P)
    # END SOLUTION


def router_z_loss(router_logits: Tensor) -> Tensor:
    """ST-MoE's router z-loss (Zoph et al. 2022, eq. 5): (1/N) sum_n (logsumexp_i router_logits[n, i])^2.

    Unscaled: multiply by c_z (1e-3 in ST-MoE) when adding it to the training loss.
    """
    # BEGIN SOLUTION
    z = torch.logsumexp(router_logits, dim=-1)  # [N], stable for large logits
    return torch.mean(z**2)
    # END SOLUTION


def expert_load(expert_index: Tensor, n_experts: int) -> Tensor:
    """Each expert's share of the assignments: [E] float32, summing to 1.

    Args:
        expert_index: [N, k] int64 (or [N] for top-1), the experts chosen for each token.
        n_experts: E (experts that received nothing get 0).
    """
    # BEGIN SOLUTION
    counts = torch.bincount(expert_index.reshape(-1), minlength=n_experts)  # [E]
    return counts.float() / expert_index.numel()
    # END SOLUTION


def load_imbalance(expert_index: Tensor, n_experts: int) -> float:
    """max_i load_i * E: 1.0 when every expert gets the same share, E when one expert gets everything."""
    # BEGIN SOLUTION
    return float(expert_load(expert_index, n_experts).max()) * n_experts
    # END SOLUTION
