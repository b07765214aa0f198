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
    raise NotImplementedError("replace this line with your solution")


def switch_balancing_loss(router_logits: Tensor, alpha: float = 1e-2) -> Tensor:
    """The Switch Transformer's balancing loss (Fedus et al. 2021, eq. 4): alpha * E * sum_i f_i * P_i.

    f_i = fraction of tokens whose argmax expert is i (sums to 1), P_i = mean router probability of expert i.
    Uniform routing gives exactly alpha, whatever E is: that is what the factor E is for.

    Args:
        router_logits: [N, E].
        alpha: the loss coefficient (1e-2 in Switch).
    """
    raise NotImplementedError("replace this line with your solution")


def router_z_loss(router_logits: Tensor) -> Tensor:
    """ST-MoE's router z-loss (Zoph et al. 2022, eq. 5): (1/N) sum_n (logsumexp_i router_logits[n, i])^2.

    Unscaled: multiply by c_z (1e-3 in ST-MoE) when adding it to the training loss.
    """
    raise NotImplementedError("replace this line with your solution")


def expert_load(expert_index: Tensor, n_experts: int) -> Tensor:
    """Each expert's share of the assignments: [E] float32, summing to 1.

    Args:
        expert_index: [N, k] int64 (or [N] for top-1), the experts chosen for each token.
        n_experts: E (experts that received nothing get 0).
    """
    raise NotImplementedError("replace this line with your solution")


def load_imbalance(expert_index: Tensor, n_experts: int) -> float:
    """max_i load_i * E: 1.0 when every expert gets the same share, E when one expert gets everything."""
    raise NotImplementedError("replace this line with your solution")
