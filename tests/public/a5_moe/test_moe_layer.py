"""Task 3, the MoE layer (15 points).

Oracle: HF ``MixtralSparseMoeBlock`` from a tiny random config, its fused expert tensors converted to your
names; out = x + the block's output. Tolerance 1e-5 (float32).
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect, expect_close


@pytest.mark.points(15)
def test_layer_matches_hf_mixtral(sub, rng):
    """MoELayer equals x + MixtralSparseMoeBlock (B=3, T=2, C=5, I=4, E=3, k=2)"""
    block = C.hf_moe_block(rng, d_model=5, d_ff=4, n_experts=3, top_k=2)
    layer, what = C.student_layer(sub, C.kit_state_dict(block), d_model=5, d_ff=4, n_experts=3, top_k=2)
    x = torch.randn(3, 2, 5, generator=rng)
    want, logits = C.hf_block_output(block, x)
    got = layer(x)
    expect(isinstance(got, list) and len(got) == 2, f"{what}: expected a pair (out, aux)")
    expect(isinstance(got[1], dict), f"{what}: aux must be a dict")
    expect_close(got[1].get("router_logits"), logits, atol=1e-6, what=f"{what}: aux['router_logits']")
    expect_close(got[0], x + want, atol=1e-5, what=f"{what}(x), x of shape (3, 2, 5): out")
