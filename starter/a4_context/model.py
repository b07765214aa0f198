"""A Llama/Mistral-style decoder with RoPE, grouped-query attention, an optional sliding window and a KV
cache.

Compared with a3's GPT-2: no learned position table (queries and keys are rotated by RoPE instead), RMSNorm
instead of LayerNorm, a gated SiLU MLP, no biases, and fewer key/value heads than query heads (GQA). Module
and parameter names are those of Hugging Face ``LlamaForCausalLM`` without its ``model.`` prefix, so its
weights load with ``load_state_dict`` as they are.

Everything is driven by ``DecoderConfig``: ``n_kv_heads`` (GQA; 1 is MQA), ``rope_parameters`` (base and
long-context scaling, transformers 5.x names), ``sliding_window`` (Mistral). ``forward`` takes an optional
cache; positions come from the cache, so prefill, chunked prefill and one-token decode steps are the same
call.

Shapes: B = batch, T = new tokens, C = d_model, H = query heads, Hkv = KV heads, d = head size, V =
vocabulary.
"""

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from kv_cache import KVCache, SlidingWindowCache, attention_mask, repeat_kv
from rope import apply_rope, rope_init, rope_tables
from torch import Tensor


@dataclass
class DecoderConfig:
    """Hyperparameters, named after their Hugging Face ``LlamaConfig`` / ``MistralConfig`` counterparts.

    Attributes:
        vocab_size: V.
        d_model: C (``hidden_size``).
        n_layers: decoder layers (``num_hidden_layers``).
        n_heads: query heads H (``num_attention_heads``).
        n_kv_heads: key/value heads Hkv (``num_key_value_heads``); must divide H; None means H (no GQA).
        d_ff: MLP width (``intermediate_size``).
        head_dim: d; None means C // H.
        max_position_embeddings: the trained context (used by dynamic NTK).
        rope_parameters: {"rope_type": ..., "rope_theta": ..., ...} (see ``rope.rope_init``).
        sliding_window: W (Mistral), or None for full causal attention.
        rms_norm_eps: epsilon of every RMSNorm.
        tie_word_embeddings: whether lm_head shares the embedding matrix.
    """

    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int | None = None
    d_ff: int = 64
    head_dim: int | None = None
    max_position_embeddings: int = 2048
    rope_parameters: dict = field(default_factory=lambda: {"rope_type": "default", "rope_theta": 10000.0})
    sliding_window: int | None = None
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = False

    def __post_init__(self) -> None:
        if self.n_kv_heads is None:
            self.n_kv_heads = self.n_heads
        if self.head_dim is None:
            self.head_dim = self.d_model // self.n_heads
        if self.n_heads % self.n_kv_heads != 0:
            raise ValueError(f"n_kv_heads={self.n_kv_heads} does not divide n_heads={self.n_heads}")


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight, in float32 (the Llama norm: no mean subtracted, no bias)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class MLP(nn.Module):
    """The gated MLP of Llama: down_proj(silu(gate_proj(x)) * up_proj(x)), no biases."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d_model, d_ff, bias=False)
        self.up_proj = nn.Linear(d_model, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Attention(nn.Module):
    """Causal grouped-query self-attention with RoPE, an optional sliding window and an optional cache.

    Pinned parameters (no biases): ``q_proj`` [H * d, C], ``k_proj`` and ``v_proj`` [Hkv * d, C], ``o_proj``
    [C, H * d]. Heads are split by ``.view(B, T, n_heads, d)``; query head h reads KV head h // (H / Hkv).
    """

    def __init__(self, config: DecoderConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, config.head_dim
        self.window = config.sliding_window
        self.q_proj = nn.Linear(config.d_model, config.n_heads * config.head_dim, bias=False)
        self.k_proj = nn.Linear(config.d_model, config.n_kv_heads * config.head_dim, bias=False)
        self.v_proj = nn.Linear(config.d_model, config.n_kv_heads * config.head_dim, bias=False)
        self.o_proj = nn.Linear(config.n_heads * config.head_dim, config.d_model, bias=False)

    def forward(
        self, x: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, cache: KVCache | None = None
    ) -> Tensor:
        """Attend from the T new tokens to themselves and to the cached past.

        Args:
            x: [B, T, C], the new tokens' activations.
            cos, sin: [T, d], the RoPE tables of the new tokens' positions.
            positions: int64 [T], their absolute positions.
            cache: if given, the new keys (rotated) and values are stored in it with
                ``cache.update(self.layer_idx, k, v)`` and attention reads what it returns.

        Returns:
            [B, T, C].
        """
        raise NotImplementedError("replace this line with your solution")


class DecoderLayer(nn.Module):
    """Pre-norm layer: x + self_attn(input_layernorm(x)), then + mlp(post_attention_layernorm(x))."""

    def __init__(self, config: DecoderConfig, layer_idx: int) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.d_model, config.rms_norm_eps)
        self.self_attn = Attention(config, layer_idx)
        self.post_attention_layernorm = RMSNorm(config.d_model, config.rms_norm_eps)
        self.mlp = MLP(config.d_model, config.d_ff)

    def forward(self, x, cos, sin, positions, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, positions, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    """The language model: embed_tokens -> layers -> norm -> lm_head.

    Pinned: ``config``; ``embed_tokens = nn.Embedding(V, C)``; ``layers`` (a ModuleList of ``DecoderLayer``);
    ``norm = RMSNorm(C)``; ``lm_head = nn.Linear(C, V, bias=False)`` (tied to ``embed_tokens`` if the config
    says so). The RoPE frequencies are a non-persistent buffer ``inv_freq`` [d/2] and ``attention_factor`` a
    float, both from ``rope.rope_init`` at construction.
    """

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.layers = nn.ModuleList([DecoderLayer(config, i) for i in range(config.n_layers)])
        self.norm = RMSNorm(config.d_model, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        inv_freq, self.attention_factor = rope_init(
            config.head_dim, config.rope_parameters, config.max_position_embeddings
        )
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def new_cache(self) -> KVCache:
        """An empty cache: a ``SlidingWindowCache`` of the config's window, else a ``KVCache``."""
        raise NotImplementedError("replace this line with your solution")

    def forward(self, idx: Tensor, cache: KVCache | None = None, start_pos: int | None = None) -> Tensor:
        """Logits of T new tokens.

        Without a cache the tokens are positions 0 .. T - 1. With one, they follow the tokens the cache has
        seen: positions P .. P + T - 1 with P = cache.get_seq_length(), and the cache is updated.

        Args:
            idx: int64 [B, T].
            cache: optional ``KVCache`` (or ``SlidingWindowCache``) shared by all layers.
            start_pos: optional; where the caller believes the chunk starts.

        Returns:
            Logits [B, T, V].

        Raises:
            ValueError: if ``start_pos`` is given and differs from P (0 without a cache).
        """
        raise NotImplementedError("replace this line with your solution")


@torch.no_grad()
def generate(model: Decoder, idx: Tensor, max_new_tokens: int, use_cache: bool = True) -> Tensor:
    """Greedy decoding: append the most likely next token (argmax, ties to the lowest id) max_new_tokens
    times.

    With ``use_cache``: one forward pass over the prompt fills a fresh ``model.new_cache()`` (prefill), then
    each step feeds only the newest token. Without: each step runs the model on the whole sequence so far.
    Both give the same tokens.

    Args:
        model: a ``Decoder`` in eval mode.
        idx: the prompt, int64 [B, T0], T0 >= 1.
        max_new_tokens: N >= 0.

    Returns:
        int64 [B, T0 + N]: the prompt followed by the generated tokens.
    """
    raise NotImplementedError("replace this line with your solution")
