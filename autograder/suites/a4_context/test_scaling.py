"""Problem 2, long-context scaling of the inverse frequencies (20 points).

Oracle: ``transformers.modeling_rope_utils.ROPE_INIT_FUNCTIONS`` (transformers 5.x ``rope_parameters``
names), which returns (inv_freq, attention_factor) for "linear" (position interpolation, arXiv:2306.15595),
"dynamic" (dynamic NTK), "yarn" (arXiv:2309.00071) and "llama3"; the rules are summarised in llm-facts A4
("Extensions"), with two values computed with the library: dynamic NTK at 8192 tokens of a 4096 context with
factor 2 and d 128 gives base 30527.74, and YaRN's attention factor for factor 4 is 0.1 ln 4 + 1 =
1.138629. Tolerance: 1e-6 relative plus 1e-9 absolute on the frequencies
(float32), 1e-6 on the attention factor.
"""

import math

import _oracles as O
import pytest
import torch
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

from autograder.checks import expect, expect_close, expect_scalar

RTOL, ATOL = 1e-6, 1e-9


def _hf(head_dim: int, rope_parameters: dict, max_position_embeddings: int, seq_len: int | None = None):
    config = O.hf_rope_config(head_dim, rope_parameters, max_position_embeddings)
    inv_freq, factor = ROPE_INIT_FUNCTIONS[rope_parameters["rope_type"]](config, None, seq_len)
    return inv_freq.float(), float(factor)


def _default(d: int, base: float) -> torch.Tensor:
    """Plain RoPE frequencies, the input of the scaling rules that take inv_freq."""
    return 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))


@pytest.mark.points(4)
def test_linear_scaling(sub, rng):
    """linear_scaling (position interpolation) matches HF "linear" (d=12, base 10000, factor 4; d=16, base
    500, factor 2.5)"""
    for d, base, factor in [(12, 10000.0, 4.0), (16, 500.0, 2.5)]:
        want, _ = _hf(d, {"rope_type": "linear", "rope_theta": base, "factor": factor}, 64)
        expect_close(
            sub.call("rope.linear_scaling", _default(d, base), factor),
            want,
            atol=ATOL,
            rtol=RTOL,
            what=f"linear_scaling(inv_freq (d={d}, base={base:g}), factor={factor:g})",
        )


@pytest.mark.points(4)
def test_dynamic_ntk(sub, rng):
    """dynamic_ntk_inv_frequencies matches HF "dynamic" for seq_len None, inside and beyond the trained
    context (d=12, base 10000, factor 3, max_position_embeddings 40; seq_len 25 and 130)"""
    rp = {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 3.0}
    for seq_len in (None, 25, 130):
        want, _ = _hf(12, rp, 40, seq_len)
        expect_close(
            sub.call("rope.dynamic_ntk_inv_frequencies", 12, 10000.0, 3.0, 40, seq_len),
            want,
            atol=ATOL,
            rtol=RTOL,
            what=f"dynamic_ntk_inv_frequencies(12, 10000, factor=3, max_position_embeddings=40, {seq_len=})",
        )


@pytest.mark.points(1)
def test_dynamic_ntk_llama_value(sub, rng):
    """dynamic NTK at twice a 4096 context (factor 2, seq_len 8192, d 128) uses base 30527.74"""
    got = sub.call("rope.dynamic_ntk_inv_frequencies", 128, 10000.0, 2.0, 4096, 8192)
    want = 1.0 / (30527.74 ** (torch.arange(0, 128, 2, dtype=torch.int64).float() / 128))
    expect_close(
        got, want, atol=1e-9, rtol=1e-5, what="dynamic_ntk_inv_frequencies(128, 10000, 2, 4096, 8192)"
    )


@pytest.mark.points(5)
def test_yarn_frequencies(sub, rng):
    """yarn_inv_frequencies matches HF "yarn" (d=32, base 10000, factor 4, original context 64; d=16, base
    500,
    factor 8, original 32, beta_fast 16, beta_slow 2)"""
    cases = [
        (32, 10000.0, 4.0, 64, None, None),
        (16, 500.0, 8.0, 32, 16.0, 2.0),
        (64, 10000.0, 4.0, 4096, None, None),  # here corr(beta_fast) = 10.47 > 0: the floor matters
        (8, 10000.0, 4.0, 4_000_000_000, None, None),  # low = high = d - 1: the ramp's zero-width guard
    ]
    for d, base, factor, orig, fast, slow in cases:
        rp = {
            "rope_type": "yarn",
            "rope_theta": base,
            "factor": factor,
            "original_max_position_embeddings": orig,
        }
        kwargs = {}
        if fast is not None:
            rp.update(beta_fast=fast, beta_slow=slow)
            kwargs = dict(beta_fast=fast, beta_slow=slow)
        want, _ = _hf(d, rp, int(orig * factor))
        got = sub.call("rope.yarn_inv_frequencies", d, base, factor, orig, **kwargs)
        what = (
            f"yarn_inv_frequencies({d}, {base:g}, factor={factor:g}, original={orig}, {kwargs or 'defaults'})"
        )
        expect(isinstance(got, list) and len(got) == 2, f"{what} must return (inv_freq, attention_factor)")
        expect_close(got[0], want, atol=ATOL, rtol=RTOL, what=f"{what}[0] (inv_freq)")


@pytest.mark.points(3)
def test_yarn_attention_factor(sub, rng):
    """YaRN's attention factor matches HF's (factor 4 gives 1.138629; factor 8 and 1.0 too)"""
    for factor in (4.0, 8.0, 1.0):
        rp = {
            "rope_type": "yarn",
            "rope_theta": 10000.0,
            "factor": factor,
            "original_max_position_embeddings": 64,
        }
        _, want = _hf(16, rp, int(64 * factor))
        got = sub.call("rope.yarn_inv_frequencies", 16, 10000.0, factor, 64)
        what = f"yarn_inv_frequencies(16, 10000, factor={factor:g}, 64)[1] (attention factor)"
        expect(isinstance(got, list) and len(got) == 2, f"{what}: expected a pair")
        expect_scalar(got[1], want, atol=1e-6, what=what)
        expect_scalar(
            sub.call("rope.yarn_attention_factor", factor),
            want,
            atol=1e-6,
            what=f"yarn_attention_factor({factor:g})",
        )
    assert abs(0.1 * math.log(4.0) + 1 - 1.138629) < 1e-6


@pytest.mark.points(3)
@pytest.mark.visibility("after_due_date")
def test_llama3_scaling(sub, rng):
    """llama3_scaling matches HF "llama3" on all three bands (d=64, base 500000, factor 8, low 1, high 4,
    original 8192; d=32, base 10000, factor 4, low 2, high 8, original 128; and original 70 with low 6,
    where one wavelength lies between 70 // 6 and 70 / 6)"""
    for d, base, factor, low, high, orig in [
        (64, 500000.0, 8.0, 1.0, 4.0, 8192),
        (32, 10000.0, 4.0, 2.0, 8.0, 128),
        (32, 10000.0, 4.0, 6.0, 24.0, 70),
    ]:
        rp = {
            "rope_type": "llama3",
            "rope_theta": base,
            "factor": factor,
            "low_freq_factor": low,
            "high_freq_factor": high,
            "original_max_position_embeddings": orig,
        }
        want, _ = _hf(d, rp, orig * 4)
        wavelen = 2 * math.pi / _default(d, base)
        bands = {(wavelen < orig / high).any().item(), (wavelen > orig / low).any().item()}
        assert bands == {True} or orig == 70, "the case must cover the fast and the slow band"
        expect_close(
            sub.call("rope.llama3_scaling", _default(d, base), factor, low, high, orig),
            want,
            atol=ATOL,
            rtol=RTOL,
            what=f"llama3_scaling(inv_freq (d={d}, base={base:g}), factor={factor:g}, low={low:g}, "
            f"high={high:g}, original={orig})",
        )
