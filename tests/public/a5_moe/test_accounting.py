"""Task 5, accounting (15 points).

Oracles: a tiny HF ``MixtralForCausalLM`` on the meta device (``sum(p.numel())``); Mixtral-8x7B's forward
FLOPs from its published config. Exact integers.
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest

from autograder.checks import expect


@pytest.mark.points(10)
def test_tiny_mixtral_counts(sub):
    """total and active parameters of a tiny Mixtral (E=4, k=2, GQA) against HF on the meta device"""
    c = C.mixtral_config(
        d_model=16, d_ff=12, n_experts=4, top_k=2, vocab_size=50, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2,
    )  # fmt: skip
    cfg = sub.new(
        "accounting.MoEModelConfig", vocab_size=50, d_model=16, n_layers=2, n_heads=4, n_kv_heads=2,
        head_dim=4, d_ff_expert=12, n_experts=4, top_k=2,
    )  # fmt: skip
    got = sub.call("accounting.parameter_counts", cfg)
    want = C.mixtral_counts(c)
    expect(isinstance(got, dict), "parameter_counts: expected a dict with 'total' and 'active'")
    for key in ("total", "active"):
        expect(got.get(key) == want[key], f"parameter_counts(tiny Mixtral)[{key!r}] is off")


@pytest.mark.points(5)
def test_mixtral_flops(sub):
    """forward FLOPs per token of Mixtral-8x7B: 2 x (attention, router, 2 experts, output head per token)"""
    cfg = sub.new(
        "accounting.MoEModelConfig", vocab_size=32000, d_model=4096, n_layers=32, n_heads=32, n_kv_heads=8,
        head_dim=128, d_ff_expert=14336, n_experts=8, top_k=2,
    )  # fmt: skip
    d, layer = 4096, 2 * 4096 * 4096 + 2 * 4096 * 1024 + 4096 * 8 + 2 * 3 * 4096 * 14336
    want = 2 * (32 * layer + 32000 * d)
    got = sub.call("accounting.forward_flops_per_token", cfg)
    expect(got == want, f"forward_flops_per_token(Mixtral-8x7B) is off by {got - want:+,}")
