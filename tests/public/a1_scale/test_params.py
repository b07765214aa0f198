"""Task 1, counting parameters exactly (20 points).

Oracle: ``sum(p.numel())`` of Hugging Face GPT-2, Llama and Mixtral models built offline from the same configs
(tied tensors counted once). Exact integers.
"""

import _common as C
import pytest


@pytest.mark.points(6)
def test_gpt2_params(sub):
    """gpt2_params equals HF GPT-2's count (tied, and untied with d_ff = 40)"""
    for config in (
        dict(arch="gpt2", vocab_size=29, n_positions=12, d_model=18, n_layers=2, n_heads=3),
        dict(
            arch="gpt2", vocab_size=31, n_positions=10, d_model=16, n_layers=3, n_heads=4, d_ff=40, tied=False
        ),
    ):
        C.expect_int(
            sub.call("accounting.gpt2_params", config),
            C.numel(C.hf_gpt2(config)),
            what=f"gpt2_params({config})",
        )


@pytest.mark.points(6)
def test_llama_params(sub):
    """llama_params equals HF Llama's count (grouped-query attention, untied)"""
    config = dict(arch="llama", vocab_size=33, d_model=16, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=28)
    C.expect_int(
        sub.call("accounting.llama_params", config),
        C.numel(C.hf_llama(config)),
        what=f"llama_params({config})",
    )


@pytest.mark.points(6)
def test_moe_params(sub):
    """llama_params and moe_active_params of a small MoE equal HF Mixtral's total and active counts"""
    config = dict(arch="llama", vocab_size=33, d_model=16, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=28,
                  n_experts=3, experts_per_token=2)  # fmt: skip
    hf = C.hf_llama(config)
    C.expect_int(sub.call("accounting.llama_params", config), C.numel(hf), what="llama_params(MoE)")
    C.expect_int(
        sub.call("accounting.moe_active_params", config),
        C.mixtral_active(hf, config),
        what="moe_active_params",
    )


@pytest.mark.points(2)
def test_gpt2_small(sub):
    """GPT-2 small has 124,439,808 parameters (Radford et al. 2019)"""
    config = dict(arch="gpt2", vocab_size=50257, n_positions=1024, d_model=768, n_layers=12, n_heads=12)
    C.expect_int(sub.call("accounting.gpt2_params", config), 124_439_808, what="gpt2_params(GPT-2 small)")
