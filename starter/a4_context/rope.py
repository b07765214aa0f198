"""Rotary position embeddings (RoPE) and the ways they are stretched to longer contexts.

RoPE encodes position by rotating each query and key: feature pair i of a vector at position m is turned by
the
angle m * inv_freq[i]. A dot product of two rotated vectors then depends on the positions only through their
difference, so attention scores see relative position while the cache stores absolute, already rotated keys.

Layout (pinned, the Hugging Face one): in a head of size d, feature j is paired with feature j + d/2
("half-split", ``rotate_half``). The RoFormer paper and Meta's code pair adjacent features (2i, 2i + 1)
instead ("interleaved"); the handout shows the conversion, and the graders accept either layout as long as
``rope_tables``, ``rotate_half`` and ``apply_rope`` agree with one another.

Shapes: d = rotary dimension (the head size here), T = positions, B = batch, H = heads.
"""

import math

import torch
from torch import Tensor


def inv_frequencies(head_dim: int, base: float = 10000.0) -> Tensor:
    """The d/2 inverse frequencies of RoPE: inv_freq[i] = base ** (-2i / d), i = 0 .. d/2 - 1.

    Args:
        head_dim: the rotary dimension d (even).
        base: the base theta (``rope_theta``; 10000 in RoFormer and Llama 2, 500000 in Llama 3).

    Returns:
        float32 tensor [d/2], decreasing from 1 (pair 0 turns by one radian per position).
    """
    raise NotImplementedError("replace this line with your solution")


def rope_tables(inv_freq: Tensor, positions: Tensor, attention_factor: float = 1.0) -> tuple[Tensor, Tensor]:
    """cos and sin of every rotation angle, laid out to multiply a head vector feature by feature.

    angle[..., t, i] = positions[..., t] * inv_freq[i]; in the half-split layout feature j and feature j + d/2
    share angle i = j, so ``cos = cat(cos(angle), cos(angle))`` along the last axis (the same for sin).
    Both are multiplied by ``attention_factor`` (YaRN's temperature correction; 1 for plain RoPE).

    Args:
        inv_freq: float tensor [d/2].
        positions: integer tensor of absolute positions, [T] or [B, T].
        attention_factor: scale applied to cos and sin.

    Returns:
        (cos, sin), each float32 of shape positions.shape + (d,).
    """
    raise NotImplementedError("replace this line with your solution")


def rotate_half(x: Tensor) -> Tensor:
    """The 90-degree turn of every feature pair: (x1, x2) -> (-x2, x1), with x1 = x[..., :d/2] and
    x2 = x[..., d/2:] (half-split layout). Shape unchanged."""
    raise NotImplementedError("replace this line with your solution")


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate queries or keys: x * cos + rotate_half(x) * sin.

    Args:
        x: [B, H, T, d] (heads on axis 1).
        cos, sin: from ``rope_tables``, [T, d] (shared by the batch) or [B, T, d] (one row of positions per
            sequence; a heads axis is inserted so that they broadcast over H).

    Returns:
        A new tensor of the shape of ``x``; ``x`` itself is not modified.
    """
    raise NotImplementedError("replace this line with your solution")


# ------------------------------------------------------------------------------------- long-context scaling


def linear_scaling(inv_freq: Tensor, factor: float) -> Tensor:
    """Position interpolation (PI, Chen et al. 2023): positions are divided by ``factor`` so that a context
    ``factor`` times longer maps onto the trained range. Since every angle is position * inv_freq, dividing
    the
    frequencies instead is the same thing (do one or the other, never both). Returns a new [d/2] tensor."""
    raise NotImplementedError("replace this line with your solution")


def dynamic_ntk_inv_frequencies(
    head_dim: int, base: float, factor: float, max_position_embeddings: int, seq_len: int | None = None
) -> Tensor:
    """Dynamic NTK scaling: a larger base once the sequence outgrows the trained context.

    With L = max(seq_len, max_position_embeddings) (L = max_position_embeddings when seq_len is None):
    base' = base * ((factor * L / max_position_embeddings) - (factor - 1)) ** (d / (d - 2)), and the result is
    ``inv_frequencies(d, base')``. Within the trained context base' = base.

    Returns:
        float32 tensor [d/2].
    """
    raise NotImplementedError("replace this line with your solution")


def yarn_attention_factor(factor: float) -> float:
    """YaRN's temperature correction of the attention logits, applied through cos and sin:
    0.1 * ln(factor) + 1 for factor > 1, else 1."""
    raise NotImplementedError("replace this line with your solution")


def yarn_inv_frequencies(
    head_dim: int,
    base: float,
    factor: float,
    original_max_position_embeddings: int,
    beta_fast: float = 32.0,
    beta_slow: float = 1.0,
) -> tuple[Tensor, float]:
    """YaRN (Peng et al. 2023): interpolate the slow pairs, keep the fast ones, ramp linearly in between.

    A pair that turns r times over the original context lies at dimension
    corr(r) = d * ln(original / (2 pi r)) / (2 ln base). With low = max(floor(corr(beta_fast)), 0) and
    high = min(ceil(corr(beta_slow)), d - 1) (if low == high, use high = low + 0.001),
    ramp[i] = clamp((i - low) / (high - low), 0, 1) for i = 0 .. d/2 - 1, and
    inv[i] = (inv_freq[i] / factor) * ramp[i] + inv_freq[i] * (1 - ramp[i]).

    Returns:
        (inv_freq float32 [d/2], attention factor from ``yarn_attention_factor(factor)``).
    """

    raise NotImplementedError("replace this line with your solution")


def llama3_scaling(
    inv_freq: Tensor,
    factor: float,
    low_freq_factor: float,
    high_freq_factor: float,
    original_max_position_embeddings: int,
) -> Tensor:
    """Llama 3.1's piecewise scaling, by wavelength 2 pi / inv_freq compared with the original context L:

    - wavelength < L / high_freq_factor (fast pairs): unchanged;
    - wavelength > L / low_freq_factor (slow pairs): divided by ``factor``;
    - otherwise s = (L / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor) and
      inv = (1 - s) * inv / factor + s * inv.

    Returns a new [d/2] tensor.
    """
    raise NotImplementedError("replace this line with your solution")


def rope_init(
    head_dim: int, rope_parameters: dict, max_position_embeddings: int, seq_len: int | None = None
) -> tuple[Tensor, float]:
    """(inv_freq [d/2], attention_factor) for a config's ``rope_parameters`` (transformers 5.x names).

    ``rope_parameters["rope_type"]`` is one of "default", "linear", "dynamic", "yarn", "llama3";
    ``rope_theta`` is the base; the other keys are those of the matching function above ("factor",
    "original_max_position_embeddings", "beta_fast", "beta_slow", "low_freq_factor", "high_freq_factor",
    and for YaRN an optional explicit "attention_factor"). For "dynamic", ``seq_len`` is the current length.
    """
    p = rope_parameters
    kind = p.get("rope_type", "default")
    base = float(p.get("rope_theta", 10000.0))
    if kind == "default":
        return inv_frequencies(head_dim, base), 1.0
    if kind == "linear":
        return linear_scaling(inv_frequencies(head_dim, base), p["factor"]), 1.0
    if kind == "dynamic":
        return dynamic_ntk_inv_frequencies(head_dim, base, p["factor"], max_position_embeddings, seq_len), 1.0
    if kind == "yarn":
        inv_freq, attention_factor = yarn_inv_frequencies(
            head_dim,
            base,
            p["factor"],
            p["original_max_position_embeddings"],
            p.get("beta_fast") or 32.0,
            p.get("beta_slow") or 1.0,
        )
        if p.get("attention_factor") is not None:
            attention_factor = float(p["attention_factor"])
        return inv_freq, attention_factor
    if kind == "llama3":
        inv_freq = inv_frequencies(head_dim, base)
        return (
            llama3_scaling(
                inv_freq,
                p["factor"],
                p["low_freq_factor"],
                p["high_freq_factor"],
                p["original_max_position_embeddings"],
            ),
            1.0,
        )
    raise ValueError(f"unknown rope_type {kind!r}")
