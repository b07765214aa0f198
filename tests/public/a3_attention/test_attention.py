"""Task 2, causal_attention (20 points).

Oracle: F.scaled_dot_product_attention (is_causal=True; with a padding mask, a boolean attn_mask combining the
causal mask with the real keys). Tolerance 1e-5 on outputs of order one (float32).
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import expect_close, expect_tensor


@pytest.fixture(autouse=True)
def _own_attention(sub):
    """Every test of this problem requires that no module of the submission names the library attention, and
    that it does not run during the test's calls (the handout's rule)."""
    with C.own_attention(sub):
        yield


def _qkv(rng, *shape):
    return tuple(torch.randn(*shape, generator=rng) for _ in range(3))


@pytest.mark.points(8)
def test_causal_attention_matches_sdpa(sub, rng):
    """causal_attention matches scaled_dot_product_attention (B=3, H=2, T=6, d=5)"""
    q, k, v = _qkv(rng, 3, 2, 6, 5)
    got = sub.call("attention.causal_attention", q, k, v)
    expect_close(
        got,
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
        atol=1e-5,
        what="causal_attention(q, k, v), q/k/v of shape (3, 2, 6, 5)",
    )


@pytest.mark.points(4)
def test_causal_attention_three_axes(sub, rng):
    """causal_attention works without a head axis (q/k/v of shape (2, 4, 3))"""
    q, k, v = _qkv(rng, 2, 4, 3)
    got = sub.call("attention.causal_attention", q, k, v)
    expect_close(
        got,
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
        atol=1e-5,
        what="causal_attention(q, k, v), q/k/v of shape (2, 4, 3)",
    )


@pytest.mark.points(4)
def test_causal_attention_is_causal(sub, rng):
    """changing keys and values at positions 3.. leaves the outputs at positions 0..2 unchanged"""
    q, k, v = _qkv(rng, 2, 3, 6, 4)
    base = expect_tensor(
        sub.call("attention.causal_attention", q, k, v),
        shape=(2, 3, 6, 4),
        dtype=torch.float32,
        what="causal_attention(q, k, v)",
    )
    k[..., 3:, :] += 2.0
    v[..., 3:, :] -= 2.0
    got = expect_tensor(
        sub.call("attention.causal_attention", q, k, v),
        shape=(2, 3, 6, 4),
        dtype=torch.float32,
        what="causal_attention(q, k, v)",
    )
    expect_close(
        got[..., :3, :],
        base[..., :3, :],
        atol=1e-6,
        what="outputs at positions 0..2 after keys and values at positions 3..5 changed",
    )


@pytest.mark.points(4)
def test_causal_attention_padding_mask(sub, rng):
    """a [B, T] padding mask removes padded keys (left padding; B=3, H=2, T=5, d=4)"""
    q, k, v = _qkv(rng, 3, 2, 5, 4)
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 1, 1]])
    keep = torch.ones(5, 5, dtype=torch.bool).tril() & mask.bool()[:, None, None, :]
    got = sub.call("attention.causal_attention", q, k, v, attention_mask=mask)
    expect_close(
        got,
        F.scaled_dot_product_attention(q, k, v, attn_mask=keep),
        atol=1e-5,
        mask=mask.bool()[:, None, :, None],
        what="causal_attention(q, k, v, attention_mask) at real query positions, q/k/v of shape "
        "(3, 2, 5, 4), mask rows [0,0,1,1,1], [1,1,1,1,1] and [0,1,1,1,1]",
    )
