"""One configurable decoder for five open model families, driven by their Hugging Face ``config.json``.

LLaMA, Mistral, Qwen2, Gemma and Phi-3 are the same pre-norm decoder (RMSNorm, RoPE, grouped-query attention,
a gated MLP) with a handful of switches. ``ArchConfig.from_hf`` reads the switches from a ``config.json``
dict, and every module below reads them from ``ArchConfig``:

| switch | families | config.json |
| --- | --- | --- |
| sliding window, W keys including the query's own | Mistral (Phi-3, Qwen2 optional) | ``sliding_window`` |
| biases on q, k and v (not o) | Qwen2 | ``model_type: qwen2`` |
| GELU with the tanh approximation in the gated MLP (GeGLU) | Gemma | ``hidden_act: gelu_pytorch_tanh`` |
| embeddings multiplied by sqrt(hidden_size) | Gemma | ``model_type: gemma`` |
| RMSNorm scaled by (1 + w), w stored as an offset from 1 | Gemma | ``model_type: gemma`` |
| lm_head tied to the embedding matrix | Gemma | ``tie_word_embeddings`` |
| fused ``qkv_proj`` and ``gate_up_proj`` | Phi-3 | ``model_type: phi3`` |

Module and parameter names are those of the Hugging Face models without their ``model.`` prefix
(``layers.0.self_attn.q_proj.weight``, ...), so ``checkpoints.py`` maps a checkpoint's names onto them.

Given (outside the graded parts): ``KVCache``, which keeps every key and value; the sliding window is applied
by the attention mask, so the cache need not drop anything for the logits to be right.

Shapes: B = batch, T = new tokens, S = keys, C = hidden size, H = query heads, Hkv = KV heads, d = head size,
F = intermediate size, V = vocabulary.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

MODEL_TYPES = ("llama", "mistral", "qwen2", "gemma", "phi3")


@dataclass
class ArchConfig:
    """The decoder's hyperparameters and family switches (see the table at the top of the module).

    Attributes:
        model_type: one of ``MODEL_TYPES``.
        vocab_size, hidden_size, intermediate_size: V, C, F.
        num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim: layers, H, Hkv, d.
        rms_norm_eps: epsilon of every RMSNorm.
        rope_theta: the RoPE base.
        sliding_window: W, or None for full causal attention.
        hidden_act: "silu", "gelu_pytorch_tanh" or "gelu" (exact, erf-based).
        qkv_bias: biases on q_proj, k_proj, v_proj; o_bias: a bias on o_proj.
        embed_scale: embeddings multiplied by sqrt(C); norm_offset: RMSNorm scaled by (1 + w).
        tie_word_embeddings: lm_head shares the embedding matrix.
        fused: Phi-3's fused ``qkv_proj`` and ``gate_up_proj``.
    """

    model_type: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    sliding_window: int | None = None
    hidden_act: str = "silu"
    qkv_bias: bool = False
    o_bias: bool = False
    embed_scale: bool = False
    norm_offset: bool = False
    tie_word_embeddings: bool = False
    fused: bool = False

    @classmethod
    def from_hf(cls, config: dict) -> "ArchConfig":
        """The switches of a Hugging Face ``config.json`` (transformers 5.x names: the RoPE base is
        ``rope_parameters["rope_theta"]``; an older top-level ``rope_theta`` is read too).

        Raises ``ValueError`` for a model_type outside ``MODEL_TYPES`` or a RoPE variant this decoder does not
        implement (scaled RoPE, partial rotary)."""
        model_type = config.get("model_type")
        if model_type not in MODEL_TYPES:
            raise ValueError(f"model_type {model_type!r} is not one of {MODEL_TYPES}")
        rope = dict(config.get("rope_parameters") or {})
        if rope.get("rope_type", "default") != "default" or rope.get("partial_rotary_factor", 1.0) != 1.0:
            raise ValueError(f"only plain RoPE over the whole head is implemented, got {rope}")
        heads = config["num_attention_heads"]
        raise NotImplementedError("replace this line with your solution")


# ------------------------------------------------------------------------------------------------ pieces


def activation(name: str, x: Tensor) -> Tensor:
    """The MLP's activation by its Hugging Face name: "silu" (x * sigmoid(x)), "gelu_pytorch_tanh"
    (GELU's tanh approximation, Gemma's) or "gelu" (the exact, erf-based GELU). Shape unchanged."""
    raise NotImplementedError("replace this line with your solution")


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps), times ``weight`` (LLaMA), or times ``1 + weight`` with ``offset`` (Gemma,
    whose checkpoints store the scale as an offset from 1). Computed in float32, returned in x's dtype.

    Pinned: the parameter ``weight`` [C], initialised to the identity scale (ones, or zeros with offset)."""

    def __init__(self, dim: int, eps: float = 1e-6, offset: bool = False) -> None:
        super().__init__()
        self.eps, self.offset = eps, offset
        self.weight = nn.Parameter(torch.zeros(dim) if offset else torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        """x: [..., C] -> [..., C]."""
        raise NotImplementedError("replace this line with your solution")


def rope_tables(head_dim: int, positions: Tensor, theta: float = 10000.0) -> tuple[Tensor, Tensor]:
    """cos and sin of RoPE's angles in the Hugging Face half-split layout.

    inv_freq[i] = theta ** (-2i / d) for i = 0 .. d/2 - 1; angle[t, i] = positions[t] * inv_freq[i]; feature
    j and feature j + d/2 share angle j, so ``cos = cat(cos(angle), cos(angle))`` (the same for sin).

    Args:
        head_dim: d (even); positions: int64 [T]; theta: the base.

    Returns:
        (cos, sin), each float32 [T, d].
    """
    raise NotImplementedError("replace this line with your solution")


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate queries or keys: x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1) with
    x1 = x[..., :d/2] and x2 = x[..., d/2:].

    Args:
        x: [B, H, T, d]; cos, sin: [T, d].

    Returns:
        A new tensor shaped like x.
    """
    raise NotImplementedError("replace this line with your solution")


class KVCache:
    """Given: the keys and values of every token seen, per layer (keys already rotated by RoPE).

    ``update(layer_idx, k, v)`` appends a chunk ([B, Hkv, T, d]) and returns all the layer's keys and
    values so far ([B, Hkv, S, d]); ``get_seq_length()`` counts the tokens layer 0 has stored, so the
    positions of the next chunk start there."""

    def __init__(self, n_layers: int) -> None:
        self.keys: list[Tensor | None] = [None] * n_layers
        self.values: list[Tensor | None] = [None] * n_layers

    def get_seq_length(self, layer_idx: int = 0) -> int:
        keys = self.keys[layer_idx]
        return 0 if keys is None else keys.shape[-2]

    def update(self, layer_idx: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        if self.keys[layer_idx] is None:
            self.keys[layer_idx], self.values[layer_idx] = k, v
        else:
            self.keys[layer_idx] = torch.cat([self.keys[layer_idx], k], dim=-2)
            self.values[layer_idx] = torch.cat([self.values[layer_idx], v], dim=-2)
        return self.keys[layer_idx], self.values[layer_idx]


def attention_mask(query_positions: Tensor, key_positions: Tensor, window: int | None = None) -> Tensor:
    """bool [T, S]: query t may read key s when key position <= query position and, with a sliding window W,
    key position > query position - W (W keys including its own, as transformers' Mistral)."""
    raise NotImplementedError("replace this line with your solution")


def repeat_kv(x: Tensor, n_rep: int) -> Tensor:
    """Grouped-query attention: [B, Hkv, S, d] -> [B, Hkv * n_rep, S, d], where query head h reads KV head
    h // n_rep (consecutive query heads share a KV head, the Hugging Face order)."""
    raise NotImplementedError("replace this line with your solution")


# ------------------------------------------------------------------------------------------------ blocks


class Attention(nn.Module):
    """Causal grouped-query self-attention with RoPE, an optional sliding window and an optional cache.

    Pinned parameters: ``q_proj`` [H * d, C], ``k_proj`` and ``v_proj`` [Hkv * d, C] (with biases when
    ``qkv_bias``), ``o_proj`` [C, H * d] (a bias when ``o_bias``); with ``fused`` (Phi-3) one ``qkv_proj``
    [(H + 2 Hkv) * d, C] instead of the three, its rows the queries, then the keys, then the values.
    Scores are scaled by 1 / sqrt(d)."""

    def __init__(self, config: ArchConfig, layer_idx: int) -> None:
        super().__init__()
        self.config, self.layer_idx = config, layer_idx
        C, H, Hkv, d = (
            config.hidden_size,
            config.num_attention_heads,
            config.num_key_value_heads,
            config.head_dim,
        )
        raise NotImplementedError("replace this line with your solution")

    def forward(
        self, x: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, cache: KVCache | None = None
    ) -> Tensor:
        """x: [B, T, C]; cos, sin: [T, d]; positions: int64 [T] (absolute); cache: stores the new keys and
        values with ``cache.update(self.layer_idx, k, v)``. Returns [B, T, C]."""
        raise NotImplementedError("replace this line with your solution")


class MLP(nn.Module):
    """The gated MLP: down_proj(act(gate_proj(x)) * up_proj(x)) (SwiGLU with silu, GeGLU with GELU).

    Pinned parameters, no biases: ``gate_proj``, ``up_proj`` [F, C] and ``down_proj`` [C, F]; with ``fused``
    (Phi-3) one ``gate_up_proj`` [2F, C] instead of the first two, its rows the gate, then the up part."""

    def __init__(self, config: ArchConfig) -> None:
        super().__init__()
        self.config = config
        C, Fd = config.hidden_size, config.intermediate_size
        raise NotImplementedError("replace this line with your solution")

    def forward(self, x: Tensor) -> Tensor:
        """x: [B, T, C] -> [B, T, C]."""
        raise NotImplementedError("replace this line with your solution")


class DecoderLayer(nn.Module):
    """Pre-norm: x + self_attn(input_layernorm(x)), then + mlp(post_attention_layernorm(x))."""

    def __init__(self, config: ArchConfig, layer_idx: int) -> None:
        super().__init__()
        C, eps, offset = config.hidden_size, config.rms_norm_eps, config.norm_offset
        self.input_layernorm = RMSNorm(C, eps, offset)
        self.self_attn = Attention(config, layer_idx)
        self.post_attention_layernorm = RMSNorm(C, eps, offset)
        self.mlp = MLP(config)

    def forward(
        self, x: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, cache: KVCache | None = None
    ) -> Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, positions, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    """The language model: embed_tokens -> layers -> norm -> lm_head.

    Pinned: ``config`` (an ``ArchConfig``); ``embed_tokens = nn.Embedding(V, C)``; ``layers`` (a ModuleList
    of ``DecoderLayer``); ``norm`` (an RMSNorm); ``lm_head = nn.Linear(C, V, bias=False)``, whose weight *is*
    ``embed_tokens.weight`` when ``tie_word_embeddings``.

    Args:
        config: an ``ArchConfig``, or a ``config.json`` dict (read with ``ArchConfig.from_hf``).
    """

    def __init__(self, config: "ArchConfig | dict") -> None:
        super().__init__()
        if isinstance(config, dict):
            config = ArchConfig.from_hf(config)
        self.config = config
        C, V = config.hidden_size, config.vocab_size
        self.embed_tokens = nn.Embedding(V, C)
        self.layers = nn.ModuleList([DecoderLayer(config, i) for i in range(config.num_hidden_layers)])
        self.norm = RMSNorm(C, config.rms_norm_eps, config.norm_offset)
        self.lm_head = nn.Linear(C, V, bias=False)
        raise NotImplementedError("replace this line with your solution")

    def new_cache(self) -> KVCache:
        """An empty cache for this model."""
        return KVCache(self.config.num_hidden_layers)

    def forward(self, input_ids: Tensor, cache: KVCache | None = None) -> Tensor:
        """Logits of T new tokens.

        Args:
            input_ids: int64 [B, T]; with a cache, the tokens that follow the ones it holds.
            cache: None (the tokens start at position 0), or a ``KVCache`` that this call extends.

        Returns:
            float logits [B, T, V].
        """
        raise NotImplementedError("replace this line with your solution")

    @torch.no_grad()
    def generate(self, input_ids: Tensor, max_new_tokens: int) -> Tensor:
        """Greedy decoding with a cache: one forward over the prompt, then one token per step, each the
        argmax of the last logits.

        Args:
            input_ids: int64 [B, T]; max_new_tokens: N.

        Returns:
            int64 [B, T + N], the prompt followed by the N new tokens.
        """
        raise NotImplementedError("replace this line with your solution")
