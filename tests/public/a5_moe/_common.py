"""Helpers of the a5 public tests: library oracles, a per-token reference loop, and loading weights.

- A Hugging Face ``MixtralSparseMoeBlock`` built offline from a tiny random ``MixtralConfig`` (no download).
  transformers 5.x stores the experts as fused 3-D tensors, ``experts.gate_up_proj`` [E, 2I, C] (the gate
  rows first, then the up rows) and ``experts.down_proj`` [E, C, I], and the router as ``gate.weight``
  [E, C]; ``kit_state_dict`` converts them to the kit's ``MoELayer`` names (``experts.{e}.w1/w3/w2.weight``).
- ``load_balancing_loss_func`` from the same module, and ``MixtralForCausalLM`` / ``Qwen2MoeForCausalLM``
  built on the meta device to count parameters without allocating them.
- ``loop_moe``: the MoE computed one token at a time, with the capacity rule of the handout, the second path
  the vectorised dispatch is compared with.

The test files reach your code only through the ``sub`` fixture. The hidden suite uses these same helpers on
other shapes and seeds.
"""

from __future__ import annotations

import math
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from transformers import MixtralConfig, Qwen2MoeConfig  # noqa: E402
from transformers.models.mixtral.modeling_mixtral import (  # noqa: E402
    MixtralForCausalLM,
    MixtralSparseMoeBlock,
    load_balancing_loss_func,
)
from transformers.models.qwen2_moe.modeling_qwen2_moe import Qwen2MoeForCausalLM  # noqa: E402

from autograder.checks import expect  # noqa: E402

transformers.logging.set_verbosity_error()


# ---------------------------------------------------------------------------------------------- Mixtral


def mixtral_config(*, d_model: int, d_ff: int, n_experts: int, top_k: int, **extra) -> MixtralConfig:
    """A tiny Mixtral config (no router jitter)."""
    return MixtralConfig(
        hidden_size=d_model,
        intermediate_size=d_ff,
        num_local_experts=n_experts,
        num_experts_per_tok=top_k,
        router_jitter_noise=0.0,
        **extra,
    )


def hf_moe_block(rng: torch.Generator, *, d_model: int, d_ff: int, n_experts: int, top_k: int):
    """A random ``MixtralSparseMoeBlock`` in eval mode, weights of a scale where outputs are of order one."""
    block = MixtralSparseMoeBlock(
        mixtral_config(d_model=d_model, d_ff=d_ff, n_experts=n_experts, top_k=top_k)
    )
    with torch.no_grad():
        block.gate.weight.copy_(torch.randn(n_experts, d_model, generator=rng) / math.sqrt(d_model))
        gu = block.experts.gate_up_proj
        gu.copy_(torch.randn(gu.shape, generator=rng) / math.sqrt(d_model))
        down = block.experts.down_proj
        down.copy_(torch.randn(down.shape, generator=rng) / math.sqrt(d_ff))
    return block.eval()


def hf_block_output(block: MixtralSparseMoeBlock, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the block's output [B, T, C], its router logits [B*T, E]) for x [B, T, C]."""
    with torch.no_grad():
        logits = F.linear(x.reshape(-1, x.shape[-1]), block.gate.weight)
        return block(x.clone()), logits


def kit_state_dict(block: MixtralSparseMoeBlock, grads: bool = False) -> dict[str, torch.Tensor]:
    """The block's weights (or, with ``grads``, their gradients) under the kit's ``MoELayer`` names: the fused
    [E, 2I, C] gate-up tensor is split into ``w1`` (gate) and ``w3`` (up), ``down_proj[e]`` is ``w2``."""

    def read(p: torch.Tensor) -> torch.Tensor:
        return (p.grad if grads else p).detach()

    gate_up = read(block.experts.gate_up_proj)
    down = read(block.experts.down_proj)
    d_ff = gate_up.shape[1] // 2
    state = {"gate.weight": read(block.gate.weight).clone()}
    for e in range(gate_up.shape[0]):
        state[f"experts.{e}.w1.weight"] = gate_up[e, :d_ff].clone()
        state[f"experts.{e}.w3.weight"] = gate_up[e, d_ff:].clone()
        state[f"experts.{e}.w2.weight"] = down[e].clone()
    return state


def hf_balancing_loss(router_logits: torch.Tensor, n_experts: int, top_k: int) -> torch.Tensor:
    """``load_balancing_loss_func`` on one layer's logits [N, E]."""
    return load_balancing_loss_func((router_logits,), num_experts=n_experts, top_k=top_k)


# ---------------------------------------------------------------------------------------------- loop


def swiglu(x: torch.Tensor, w1: torch.Tensor, w3: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    return F.linear(F.silu(F.linear(x, w1)) * F.linear(x, w3), w2)


def loop_moe(
    x: torch.Tensor,
    expert_index: torch.Tensor,
    gates: torch.Tensor,
    state: dict[str, torch.Tensor],
    capacity: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(y [N, C], kept [N, k]) one token and one slot at a time: tokens in order fill each expert's queue
    until it holds ``capacity`` assignments; later assignments to a full expert are dropped."""
    N, k = expert_index.shape
    y = torch.zeros_like(x)
    kept = torch.zeros(N, k, dtype=torch.bool)
    filled: dict[int, int] = {}
    for n in range(N):
        for j in range(k):
            e = int(expert_index[n, j])
            if capacity is not None and filled.get(e, 0) >= capacity:
                continue
            filled[e] = filled.get(e, 0) + 1
            kept[n, j] = True
            w = [state[f"experts.{e}.{name}.weight"] for name in ("w1", "w3", "w2")]
            y[n] += gates[n, j] * swiglu(x[n], *w)
    return y, kept


def random_experts(rng: torch.Generator, n_experts: int, d_model: int, d_ff: int) -> dict[str, torch.Tensor]:
    """Random expert weights under the kit's names."""
    state = {"gate.weight": torch.randn(n_experts, d_model, generator=rng) / math.sqrt(d_model)}
    for e in range(n_experts):
        state[f"experts.{e}.w1.weight"] = torch.randn(d_ff, d_model, generator=rng) / math.sqrt(d_model)
        state[f"experts.{e}.w3.weight"] = torch.randn(d_ff, d_model, generator=rng) / math.sqrt(d_model)
        state[f"experts.{e}.w2.weight"] = torch.randn(d_model, d_ff, generator=rng) / math.sqrt(d_ff)
    return state


# ---------------------------------------------------------------------------------------------- counting


def meta_parameter_counts(model_cls, config, n_experts: int, top_k: int) -> dict[str, int]:
    """Total and active parameters of an HF MoE model built on the meta device (nothing is allocated):
    active = total minus the routed-expert parameters of the experts a token does not use."""
    with torch.device("meta"):
        model = model_cls(config)
    total = sum(p.numel() for p in model.parameters())  # tied matrices are listed once
    routed = sum(p.numel() for name, p in model.named_parameters() if ".mlp.experts." in name)
    return {"total": total, "active": total - routed * (n_experts - top_k) // n_experts}


def mixtral_counts(config: MixtralConfig) -> dict[str, int]:
    return meta_parameter_counts(
        MixtralForCausalLM, config, config.num_local_experts, config.num_experts_per_tok
    )


def qwen_moe_counts(config: Qwen2MoeConfig) -> dict[str, int]:
    return meta_parameter_counts(Qwen2MoeForCausalLM, config, config.num_experts, config.num_experts_per_tok)


# ---------------------------------------------------------------------------------------------- yours


def load_weights(module, state: dict[str, torch.Tensor], what: str) -> None:
    """``module.load_state_dict(state, strict=False)``; every given weight must find its pinned parameter."""
    result = module.call("load_state_dict", state, strict=False)
    ok = isinstance(result, list) and len(result) == 2 and all(isinstance(r, list) for r in result)
    expect(ok, f"{what}: load_state_dict did not return (missing_keys, unexpected_keys)")
    unexpected = sorted(str(k) for k in result[1])
    missing = sorted(str(k) for k in result[0])
    expect(
        not unexpected and not missing,
        f"{what}: parameter names differ from the pinned ones (unexpected: {unexpected[:4]}, "
        f"missing: {missing[:4]}); they are pinned in the handout",
    )


def student_layer(
    sub, state: dict[str, torch.Tensor], *, d_model, d_ff, n_experts, top_k, capacity_factor=None
):
    """Your MoELayer with the given weights, in eval mode."""
    what = f"MoELayer({d_model}, {d_ff}, {n_experts}, {top_k}, capacity_factor={capacity_factor})"
    layer = sub.new("moe.MoELayer", d_model, d_ff, n_experts, top_k, capacity_factor=capacity_factor)
    load_weights(layer, state, what)
    layer.call("eval")
    return layer, what
