"""Accounting written part by part: one small function per kind of weight."""

from dataclasses import dataclass


@dataclass
class MoEModelConfig:
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff_expert: int
    n_experts: int
    top_k: int
    n_shared_experts: int = 0
    d_ff_shared: int = 0
    shared_expert_gate: bool = False
    qkv_bias: bool = False
    tie_embeddings: bool = False


def _attention_weights(c: MoEModelConfig) -> int:
    q = c.d_model * c.n_heads * c.head_dim
    kv = c.d_model * c.n_kv_heads * c.head_dim
    return q + kv + kv + q


def _attention_biases(c: MoEModelConfig) -> int:
    return (c.n_heads + 2 * c.n_kv_heads) * c.head_dim if c.qkv_bias else 0


def _swiglu(d_model: int, d_ff: int) -> int:
    return 3 * d_model * d_ff


def _shared(c: MoEModelConfig) -> int:
    return c.n_shared_experts * _swiglu(c.d_model, c.d_ff_shared) + c.d_model * int(c.shared_expert_gate)


def parameter_counts(cfg: MoEModelConfig) -> dict[str, int]:
    c = cfg
    layer_common = 2 * c.d_model + _attention_weights(c) + _attention_biases(c) + c.d_model * c.n_experts
    layer_common += _shared(c)
    head = 0 if c.tie_embeddings else c.vocab_size * c.d_model
    outside = c.vocab_size * c.d_model + head + c.d_model
    expert = _swiglu(c.d_model, c.d_ff_expert)
    total = outside + c.n_layers * (layer_common + c.n_experts * expert)
    active = outside + c.n_layers * (layer_common + c.top_k * expert)
    return {"total": int(total), "active": int(active)}


def forward_flops_per_token(cfg: MoEModelConfig) -> int:
    c = cfg
    per_layer = _attention_weights(c) + c.d_model * c.n_experts + c.top_k * _swiglu(c.d_model, c.d_ff_expert)
    per_layer += _shared(c)
    return 2 * c.n_layers * per_layer + 2 * c.vocab_size * c.d_model
