"""A sparse Mixture-of-Experts layer: route, dispatch, run each expert once, combine.

Each token is sent to k of E experts (``router.top_k_gating``). Instead of running every expert on every token
(E times the compute of one feed-forward network), the layer groups the token-expert *assignments* by expert,
runs each expert once on the tokens assigned to it, and scatters the results back, weighted by the gates.
The compute per token is then about k expert evaluations, whatever E is.

With a capacity (Switch Transformer, GShard), each expert accepts at most ``capacity`` assignments per
forward pass, so that every expert's batch has a fixed size on parallel hardware. Assignments beyond it are
dropped: they contribute nothing, and a token whose every assignment is dropped leaves the layer unchanged
through the residual connection.

Shapes: B = batch, T = sequence length, C = d_model, N = B * T tokens, E = experts, k = experts per token,
I = an expert's hidden size. An *assignment* is one (token, slot) pair of ``expert_index`` [N, k]; its flat id
is ``token * k + slot``. Pinned priority order: an expert's queue holds its assignments in **token order**
(increasing token index; a token appears at most once in a queue), and when it overflows the first
``capacity`` assignments of the queue are kept.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from router import top_k_gating
from torch import Tensor


class Expert(nn.Module):
    """One SwiGLU feed-forward expert (Mixtral's): ``w2(silu(w1(x)) * w3(x))``, no biases.

    Parameters: ``w1`` [I, C] (gate), ``w3`` [I, C] (up), ``w2`` [C, I] (down).
    """

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """x [..., C] -> [..., C]."""
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


def expert_capacity(n_tokens: int, n_experts: int, k: int, capacity_factor: float) -> int:
    """Assignments one expert may accept: ceil(n_tokens * k * capacity_factor / n_experts).

    ``n_tokens * k`` assignments spread evenly would give each expert ``n_tokens * k / n_experts``; the
    capacity factor adds headroom for uneven routing (1.0 to 2.0 in Switch).
    """
    raise NotImplementedError("replace this line with your solution")


def queue_positions(expert_index: Tensor, n_experts: int) -> Tensor:
    """Each assignment's position in its expert's queue (0 = first), with queues in token order.

    Args:
        expert_index: [N, k] int64, the experts chosen for each token (distinct within a row).
        n_experts: E.

    Returns:
        [N, k] int64: for assignment (n, j) routed to expert e, the number of assignments (n', j') routed to e
        with n' < n. No Python loop over tokens.
    """
    raise NotImplementedError("replace this line with your solution")


def dispatch_combine(
    x: Tensor, expert_index: Tensor, gates: Tensor, experts: nn.ModuleList, capacity: int | None = None
) -> tuple[Tensor, Tensor]:
    """Run each expert once on its assigned tokens and add the gated outputs back per token.

    y_n = sum over the kept assignments (n, j) of gates[n, j] * experts[expert_index[n, j]](x_n).

    Args:
        x: token states [N, C].
        expert_index: [N, k] int64 expert ids.
        gates: [N, k] weights of the assignments.
        experts: the E experts, each mapping [M, C] -> [M, C].
        capacity: the most assignments an expert accepts (see ``queue_positions`` for which are kept);
            ``None`` keeps all.

    Returns:
        ``(y, kept)``: ``y`` [N, C] the combined expert outputs (zero for a token with nothing kept), and
        ``kept`` [N, k] bool. Loops over experts are fine; loops over tokens are not.
    """
    raise NotImplementedError("replace this line with your solution")


class MoELayer(nn.Module):
    """A sparse MoE feed-forward sublayer with its residual connection: ``out = x + moe(x)``.

    Parameters, with pinned names: ``gate = nn.Linear(d_model, n_experts, bias=False)`` (the router) and
    ``experts``, an ``nn.ModuleList`` of ``n_experts`` ``Expert(d_model, d_ff)``.

    Args:
        d_model: C.
        d_ff: I, each expert's hidden size.
        n_experts: E.
        top_k: k, experts per token (Mixtral routing, ``router.top_k_gating``).
        capacity_factor: ``None`` for no capacity (Mixtral); otherwise each expert keeps at most
            ``expert_capacity(B * T, E, k, capacity_factor)`` assignments per forward pass.
    """

    def __init__(
        self, d_model: int, d_ff: int, n_experts: int, top_k: int, capacity_factor: float | None = None
    ) -> None:
        super().__init__()
        self.n_experts = n_experts
        self.top_k = top_k
        self.capacity_factor = capacity_factor
        self.gate = nn.Linear(d_model, n_experts, bias=False)
        self.experts = nn.ModuleList(Expert(d_model, d_ff) for _ in range(n_experts))

    def forward(self, x: Tensor) -> tuple[Tensor, dict]:
        """x [B, T, C] -> ``(out, aux)``.

        ``out`` [B, T, C] = x + the combined expert outputs, so a token whose assignments are all dropped
        comes out unchanged. ``aux`` is a dict with ``router_logits`` [N, E], ``gates`` [N, k],
        ``expert_index`` [N, k] int64, ``kept`` [N, k] bool, and ``drop_rate``, a float: the fraction of the
        N * k assignments that were dropped (0.0 without a capacity). Tokens are flattened in row-major
        order, n = b * T + t.
        """
        raise NotImplementedError("replace this line with your solution")
