"""Task 3, MultiHeadAttention (15 points).

Oracle: Hugging Face's ``GPT2Attention`` (eager, no dropout) with random weights, converted to the pinned
names ``qkv`` and ``proj`` and loaded into your module, run with the causal (and padding) mask that
``GPT2Model`` would give it. Tolerance 1e-5 (float32).
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect_close, expect_tensor

WHAT = "MultiHeadAttention(15, 3)"


@pytest.fixture(autouse=True)
def _own_attention(sub):
    """Every test of this problem requires that no module of the submission names the library attention, and
    that it does not run during the test's calls (the handout's rule)."""
    with C.own_attention(sub):
        yield


def _mha(sub, rng):
    hf = C.hf_attention(rng, 15, 3)
    return C.student_module(sub, "attention.MultiHeadAttention", (15, 3), hf, WHAT), hf


@pytest.mark.points(8)
def test_mha_matches_hf(sub, rng):
    """MultiHeadAttention(15, 3) matches Hugging Face GPT2Attention (B=2, T=6)"""
    module, hf = _mha(sub, rng)
    x = torch.randn(2, 6, 15, generator=rng)
    expect_close(module(x), C.run_hf(hf, x), atol=1e-5, what=f"{WHAT}(x), x of shape (2, 6, 15)")


@pytest.mark.points(4)
def test_mha_is_causal(sub, rng):
    """changing x at positions 4.. leaves the outputs at positions 0..3 unchanged"""
    module, _ = _mha(sub, rng)
    x = torch.randn(2, 6, 15, generator=rng)
    base = expect_tensor(module(x), shape=(2, 6, 15), dtype=torch.float32, what=f"{WHAT}(x)")
    x[:, 4:] = torch.randn(2, 2, 15, generator=rng)
    got = expect_tensor(module(x), shape=(2, 6, 15), dtype=torch.float32, what=f"{WHAT}(x)")
    expect_close(got[:, :4], base[:, :4], atol=1e-6, what="outputs at positions 0..3 after x changed at 4..5")


@pytest.mark.points(3)
def test_mha_padding_mask(sub, rng):
    """MultiHeadAttention passes attention_mask on: padded keys are ignored"""
    module, hf = _mha(sub, rng)
    x = torch.randn(2, 6, 15, generator=rng)
    mask = torch.tensor([[0, 1, 1, 1, 1, 1], [1, 1, 0, 1, 1, 1]])
    expect_close(
        module(x, mask),
        C.run_hf(hf, x, mask),
        atol=1e-5,
        mask=mask.bool()[:, :, None],
        what=f"{WHAT}(x, attention_mask) at real positions, mask rows [0,1,1,1,1,1] and [1,1,0,1,1,1]",
    )
