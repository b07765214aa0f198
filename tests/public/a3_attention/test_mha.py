"""Task 3, MultiHeadAttention (15 points).

Expected values: stored in a3_snapshot.pt, computed by the graders' oracle (the pinned GPT-2 layout around
F.scaled_dot_product_attention) for random weights. Tolerance 1e-5 (float32).
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect_close, expect_tensor

SNAP = C.SNAPSHOT["mha"]


@pytest.fixture(autouse=True)
def _own_attention(sub):
    """Every test of this problem requires that attention.py does not call the library attention (handout)."""
    C.expect_own_attention(sub)


def _mha(sub):
    module = sub.call("attention.MultiHeadAttention", 15, 3)
    C.load_weights(module, SNAP["weights"], "MultiHeadAttention(15, 3)")
    module.call("eval")
    return module


@pytest.mark.points(8)
def test_mha_matches_snapshot(sub):
    """MultiHeadAttention(15, 3) matches the oracle on stored weights (B=2, T=6)"""
    expect_close(
        _mha(sub)(SNAP["x"]),
        SNAP["out"],
        atol=1e-5,
        what="MultiHeadAttention(15, 3)(x), x of shape (2, 6, 15)",
    )


@pytest.mark.points(4)
def test_mha_is_causal(sub, rng):
    """changing x at positions 4.. leaves the outputs at positions 0..3 unchanged"""
    module = _mha(sub)
    x = SNAP["x"].clone()
    base = expect_tensor(module(x), shape=(2, 6, 15), dtype=torch.float32, what="MHA(15, 3)(x)")
    x[:, 4:] = torch.randn(2, 2, 15, generator=rng)
    got = expect_tensor(module(x), shape=(2, 6, 15), dtype=torch.float32, what="MHA(15, 3)(x)")
    expect_close(got[:, :4], base[:, :4], atol=1e-6, what="outputs at positions 0..3 after x changed at 4..5")


@pytest.mark.points(3)
def test_mha_padding_mask(sub):
    """MultiHeadAttention passes attention_mask on: padded keys are ignored"""
    mask = SNAP["mask"]
    expect_close(
        _mha(sub)(SNAP["x"], mask),
        SNAP["out_masked"],
        atol=1e-5,
        mask=mask.bool()[:, :, None],
        what="MultiHeadAttention(15, 3)(x, attention_mask) at real positions, mask rows "
        "[0,1,1,1,1,1] and [1,1,0,1,1,1]",
    )
