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
        # BEGIN SOLUTION
        window = config.get("sliding_window")
        if model_type == "qwen2" and not config.get("use_sliding_window", False):
            window = None  # Qwen2 keeps the key but uses it only when use_sliding_window is set
        return cls(
            model_type=model_type,
            vocab_size=config["vocab_size"],
            hidden_size=config["hidden_size"],
            intermediate_size=config["intermediate_size"],
            num_hidden_layers=config["num_hidden_layers"],
            num_attention_heads=heads,
            num_key_value_heads=config.get("num_key_value_heads") or heads,
            head_dim=config.get("head_dim") or config["hidden_size"] // heads,
            rms_norm_eps=config.get("rms_norm_eps", 1e-6),
            rope_theta=rope.get("rope_theta", config.get("rope_theta", 10000.0)),
            sliding_window=window,
            hidden_act=config.get("hidden_act") or config.get("hidden_activation") or "silu",
            qkv_bias=model_type == "qwen2" or bool(config.get("attention_bias", False)),
            o_bias=model_type != "qwen2" and bool(config.get("attention_bias", False)),
            embed_scale=model_type == "gemma",
            norm_offset=model_type == "gemma",
            tie_word_embeddings=bool(config.get("tie_word_embeddings", model_type == "gemma")),
            fused=model_type == "phi3",
        )
        # END SOLUTION


# ------------------------------------------------------------------------------------------------ pieces


def activation(name: str, x: Tensor) -> Tensor:
    """The MLP's activation by its Hugging Face name: "silu" (x * sigmoid(x)), "gelu_pytorch_tanh"
    (GELU's tanh approximation, Gemma's) or "gelu" (the exact, erf-based GELU). Shape unchanged."""
    # BEGIN SOLUTION
    if name == "silu":
        return F.silu(x)
    if name in ("gelu_pytorch_tanh", "gelu_tanh"):
        return F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu(x)
    raise ValueError(f"unknown activation {name!r}")
    # END SOLUTION


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
        # BEGIN SOLUTION
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        scale = 1.0 + self.weight.float() if self.offset else self.weight.float()
        return (h * scale).to(x.dtype)
        # END SOLUTION


def rope_tables(head_dim: int, positions: Tensor, theta: float = 10000.0) -> tuple[Tensor, Tensor]:
    """cos and sin of RoPE's angles in the Hugging Face half-split layout.

    inv_freq[i] = theta ** (-2i / d) for i = 0 .. d/2 - 1; angle[t, i] = positions[t] * inv_freq[i]; feature
    j and feature j + d/2 share angle j, so ``cos = cat(cos(angle), cos(angle))`` (the same for sin).

    Args:
        head_dim: d (even); positions: int64 [T]; theta: the base.

    Returns:
        (cos, sin), each float32 [T, d].
    """
    # BEGIN SOLUTION
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim)  # [d/2]
    angles = positions.float()[:, None] * inv_freq[None, :]  # [T, d/2]
    emb = torch.cat([angles, angles], dim=-1)  # [T, d]
    return emb.cos(), emb.sin()
    # END SOLUTION


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate queries or keys: x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1) with
    x1 = x[..., :d/2] and x2 = x[..., d/2:].

    Args:
        x: [B, H, T, d]; cos, sin: [T, d].

    Returns:
        A new tensor shaped like x.
    """
    # BEGIN SOLUTION
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin
    # END SOLUTION


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
    # BEGIN SOLUTION
    q, k = query_positions[:, None], key_positions[None, :]
    allowed = k <= q
    if window is not None:
        allowed = allowed & (k > q - window)
    return allowed
    # END SOLUTION


def repeat_kv(x: Tensor, n_rep: int) -> Tensor:
    """Grouped-query attention: [B, Hkv, S, d] -> [B, Hkv * n_rep, S, d], where query head h reads KV head
    h // n_rep (consecutive query heads share a KV head, the Hugging Face order)."""
    # BEGIN SOLUTION
    B, Hkv, S, d = x.shape
    return x[:, :, None].expand(B, Hkv, n_rep, S, d).reshape(B, Hkv * n_rep, S, d)
    # END SOLUTION


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
        # BEGIN SOLUTION
        if config.fused:
            self.qkv_proj = nn.Linear(C, (H + 2 * Hkv) * d, bias=config.qkv_bias)
        else:
            self.q_proj = nn.Linear(C, H * d, bias=config.qkv_bias)
            self.k_proj = nn.Linear(C, Hkv * d, bias=config.qkv_bias)
            self.v_proj = nn.Linear(C, Hkv * d, bias=config.qkv_bias)
        self.o_proj = nn.Linear(H * d, C, bias=config.o_bias)
        # END SOLUTION

    def forward(
        self, x: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, cache: KVCache | None = None
    ) -> Tensor:
        """x: [B, T, C]; cos, sin: [T, d]; positions: int64 [T] (absolute); cache: stores the new keys and
        values with ``cache.update(self.layer_idx, k, v)``. Returns [B, T, C]."""
        # BEGIN SOLUTION
        cfg = self.config
        B, T, _ = x.shape
        H, Hkv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        if cfg.fused:
            q, k, v = self.qkv_proj(x).split([H * d, Hkv * d, Hkv * d], dim=-1)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.view(B, T, H, d).transpose(1, 2)  # [B, H, T, d]
        k = k.view(B, T, Hkv, d).transpose(1, 2)  # [B, Hkv, T, d]
        v = v.view(B, T, Hkv, d).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v)  # [B, Hkv, S, d]
        S = k.shape[-2]
        key_positions = torch.arange(S, device=x.device) + (positions[-1] + 1 - S)  # the last S positions
        k, v = repeat_kv(k, H // Hkv), repeat_kv(v, H // Hkv)  # [B, H, S, d]
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # [B, H, T, S]
        allowed = attention_mask(positions, key_positions, cfg.sliding_window)
        scores = scores.masked_fill(~allowed, float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v  # [B, H, T, d]
        return self.o_proj(y.transpose(1, 2).reshape(B, T, H * d))
        # END SOLUTION


class MLP(nn.Module):
    """The gated MLP: down_proj(act(gate_proj(x)) * up_proj(x)) (SwiGLU with silu, GeGLU with GELU).

    Pinned parameters, no biases: ``gate_proj``, ``up_proj`` [F, C] and ``down_proj`` [C, F]; with ``fused``
    (Phi-3) one ``gate_up_proj`` [2F, C] instead of the first two, its rows the gate, then the up part."""

    def __init__(self, config: ArchConfig) -> None:
        super().__init__()
        self.config = config
        C, Fd = config.hidden_size, config.intermediate_size
        # BEGIN SOLUTION
        if config.fused:
            self.gate_up_proj = nn.Linear(C, 2 * Fd, bias=False)
        else:
            self.gate_proj = nn.Linear(C, Fd, bias=False)
            self.up_proj = nn.Linear(C, Fd, bias=False)
        self.down_proj = nn.Linear(Fd, C, bias=False)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """x: [B, T, C] -> [B, T, C]."""
        # BEGIN SOLUTION
        if self.config.fused:
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        return self.down_proj(activation(self.config.hidden_act, gate) * up)
        # END SOLUTION


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
        # BEGIN SOLUTION
        if config.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        # END SOLUTION

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
        # BEGIN SOLUTION
        cfg = self.config
        start = 0 if cache is None else cache.get_seq_length()
        T = input_ids.shape[1]
        positions = torch.arange(start, start + T, device=input_ids.device)  # [T]
        cos, sin = rope_tables(cfg.head_dim, positions, cfg.rope_theta)
        x = self.embed_tokens(input_ids)  # [B, T, C]
        if cfg.embed_scale:
            x = x * torch.tensor(cfg.hidden_size**0.5, dtype=x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin, positions, cache)
        return self.lm_head(self.norm(x))
        # END SOLUTION

    @torch.no_grad()
    def generate(self, input_ids: Tensor, max_new_tokens: int) -> Tensor:
        """Greedy decoding with a cache: one forward over the prompt, then one token per step, each the
        argmax of the last logits.

        Args:
            input_ids: int64 [B, T]; max_new_tokens: N.

        Returns:
            int64 [B, T + N], the prompt followed by the N new tokens.
        """
        # BEGIN SOLUTION
        cache = self.new_cache()
        out = input_ids
        step = input_ids
        for _ in range(max_new_tokens):
            logits = self(step, cache)  # [B, t, V]
            step = logits[:, -1].argmax(dim=-1, keepdim=True)  # [B, 1]
            out = torch.cat([out, step], dim=1)
        return out
        # END SOLUTION
