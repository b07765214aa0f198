"""Total against active parameters, and forward FLOPs per token, of a decoder-only MoE language model.

An MoE model stores every expert but runs only k of the E routed experts per token (plus any shared experts,
which every token uses). So its *total* parameters set the memory it needs, its *active* parameters the
compute per token. Mixtral-8x7B: about 46.7B total, 12.9B active.

The architecture counted (Mixtral, Qwen-MoE and DeepSeek-MoE all fit it), per layer:

- two RMSNorm weight vectors of size d_model (no bias);
- attention: q and o projections of d_model x (n_heads * head_dim), k and v of d_model x (n_kv_heads *
  head_dim); with ``qkv_bias`` the q, k and v projections also have biases (Qwen); o never has one;
- the router: d_model x n_experts, no bias;
- n_experts routed SwiGLU experts, each 3 * d_model * d_ff_expert (gate, up and down, no biases);
- n_shared_experts shared SwiGLU experts, each 3 * d_model * d_ff_shared, used by every token;
- with ``shared_expert_gate`` a d_model x 1 sigmoid gate on the shared output (Qwen-MoE).

Plus the token embedding (vocab_size x d_model), a final RMSNorm, and the output head (vocab_size x d_model,
no bias), which is the embedding matrix itself when ``tie_embeddings`` (then counted once).
"""

from dataclasses import dataclass


@dataclass
class MoEModelConfig:
    """Hyperparameters of a decoder-only MoE model (names as in the handout's table)."""

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


def parameter_counts(cfg: MoEModelConfig) -> dict[str, int]:
    """``{"total": ..., "active": ...}``: every parameter, and the parameters one token uses.

    Active = total minus the (n_experts - top_k) routed experts a token does not use, in every layer. The
    embedding, norms, attention, router and shared experts are all active.
    """
    # BEGIN SOLUTION
    d = cfg.d_model
    q_out, kv_out = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim
    attention = d * q_out * 2 + d * kv_out * 2  # q, o and k, v
    if cfg.qkv_bias:
        attention += q_out + 2 * kv_out
    routed_expert = 3 * d * cfg.d_ff_expert  # gate, up, down
    shared = cfg.n_shared_experts * 3 * d * cfg.d_ff_shared + (d if cfg.shared_expert_gate else 0)
    per_layer = 2 * d + attention + d * cfg.n_experts + cfg.n_experts * routed_expert + shared
    embeddings = cfg.vocab_size * d * (1 if cfg.tie_embeddings else 2)
    total = cfg.n_layers * per_layer + embeddings + d  # + the final norm
    inactive = cfg.n_layers * (cfg.n_experts - cfg.top_k) * routed_expert
    return {"total": total, "active": total - inactive}
    # END SOLUTION


def forward_flops_per_token(cfg: MoEModelConfig) -> int:
    """Forward FLOPs per token: 2 per weight of every matrix the token is multiplied with.

    Counted: the attention projections, the router, the k active routed experts, the shared experts and
    their gate, and the output head. Not counted: the embedding lookup (no multiplication), norms, biases,
    and the attention scores (they depend on the context length, which this count leaves out).
    """
    # BEGIN SOLUTION
    d = cfg.d_model
    q_out, kv_out = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim
    per_layer = (
        d * q_out * 2
        + d * kv_out * 2
        + d * cfg.n_experts  # router
        + cfg.top_k * 3 * d * cfg.d_ff_expert
        + cfg.n_shared_experts * 3 * d * cfg.d_ff_shared
        + (d if cfg.shared_expert_gate else 0)
    )
    return 2 * (cfg.n_layers * per_layer + cfg.vocab_size * d)  # + the output head
    # END SOLUTION
