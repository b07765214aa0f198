"""Problems 1 and 2, RoPE and its long-context scaling (public checks).

Oracles: Hugging Face's rotary embedding (``LlamaRotaryEmbedding``, ``apply_rotary_pos_emb``) and
``transformers.modeling_rope_utils.ROPE_INIT_FUNCTIONS`` (5.x ``rope_parameters`` names). The half-split
layout
is pinned; the interleaved one is accepted (see the handout). The hidden suite checks more cases and shapes.
"""

import _common as C
import pytest
import torch
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

from autograder.checks import expect, expect_close, expect_scalar


def _hf(head_dim, rope_parameters, max_position_embeddings, seq_len=None):
    config = C.hf_rope_config(head_dim, rope_parameters, max_position_embeddings)
    inv_freq, factor = ROPE_INIT_FUNCTIONS[rope_parameters["rope_type"]](config, None, seq_len)
    return inv_freq.float(), float(factor)


@pytest.mark.points(15)
def test_apply_rope_matches_hf(sub, rng):
    """inv_frequencies, rope_tables and apply_rope together match HF (B=3, H=2, T=4, d=6, positions 9..12)"""
    x = torch.randn(3, 2, 4, 6, generator=rng)
    positions = torch.arange(9, 13)
    cos, sin = sub.call("rope.rope_tables", sub.call("rope.inv_frequencies", 6, 10000.0), positions)
    cos_hf, sin_hf = C.hf_cos_sin(6, positions)
    rotate = lambda t: C.hf_apply_rope(t, cos_hf, sin_hf)  # noqa: E731
    C.expect_either_layout(
        sub.call("rope.apply_rope", x, cos, sin),
        rotate(x),
        C.interleaved_of(rotate, x),
        what="apply_rope(x of shape (3, 2, 4, 6)) at positions 9..12",
        atol=1e-5,
    )


@pytest.mark.points(10)
def test_relative_position(sub, rng):
    """the score of rotated q (position 2) and k (position 7) equals that at positions 12 and 17 (d=10)"""
    q = torch.randn(1, 1, 1, 10, generator=rng)
    k = torch.randn(1, 1, 1, 10, generator=rng)
    inv = sub.call("rope.inv_frequencies", 10, 10000.0)

    def score(m, n):
        cq, sq = sub.call("rope.rope_tables", inv, torch.tensor([m]))
        ck, sk = sub.call("rope.rope_tables", inv, torch.tensor([n]))
        return (sub.call("rope.apply_rope", q, cq, sq) * sub.call("rope.apply_rope", k, ck, sk)).sum()

    expect_close(score(12, 17), score(2, 7), atol=1e-4, what="q.k after shifting both positions by 10")


@pytest.mark.points(15)
def test_scaling_rules_match_hf(sub, rng):
    """linear, dynamic NTK, YaRN and llama3 scaling match HF (d=8, base 1000)"""
    d, base = 8, 1000.0
    inv = 1.0 / (base ** (torch.arange(0, d, 2).float() / d))
    want, _ = _hf(d, {"rope_type": "linear", "rope_theta": base, "factor": 2.0}, 32)
    expect_close(sub.call("rope.linear_scaling", inv, 2.0), want, atol=1e-9, rtol=1e-6, what="linear_scaling")
    want, _ = _hf(d, {"rope_type": "dynamic", "rope_theta": base, "factor": 2.0}, 32, 80)
    expect_close(
        sub.call("rope.dynamic_ntk_inv_frequencies", d, base, 2.0, 32, 80),
        want,
        atol=1e-9,
        rtol=1e-6,
        what="dynamic_ntk_inv_frequencies(seq_len=80 > 32)",
    )
    rp = {"rope_type": "yarn", "rope_theta": base, "factor": 2.0, "original_max_position_embeddings": 32}
    want, factor = _hf(d, rp, 64)
    got = sub.call("rope.yarn_inv_frequencies", d, base, 2.0, 32)
    expect(
        isinstance(got, list) and len(got) == 2,
        "yarn_inv_frequencies must return (inv_freq, attention_factor)",
    )
    expect_close(got[0], want, atol=1e-9, rtol=1e-6, what="yarn_inv_frequencies inv_freq")
    expect_scalar(got[1], factor, atol=1e-6, what="yarn_inv_frequencies attention factor")
    rp = {
        "rope_type": "llama3",
        "rope_theta": base,
        "factor": 4.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32,
    }
    want, _ = _hf(d, rp, 128)
    expect_close(
        sub.call("rope.llama3_scaling", inv, 4.0, 1.0, 4.0, 32),
        want,
        atol=1e-9,
        rtol=1e-6,
        what="llama3_scaling",
    )
