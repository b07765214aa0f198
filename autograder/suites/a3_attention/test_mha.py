"""Task 3, MultiHeadAttention (15 points).

Oracle: the pinned GPT-2 layout (fused [q | k | v] projection, heads split by ``view(B, T, H, head_dim)``,
output projection) around ``F.scaled_dot_product_attention``, with the same random weights loaded into the
submission by ``load_state_dict``. Tolerance: 1e-5 absolute on outputs of order one (float32).
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect, expect_close, expect_tensor

ATOL = 1e-5


@pytest.fixture(autouse=True)
def _own_attention(sub):
    """Every test of this problem requires that no module of the submission names the library attention, and
    that it does not run during the test's calls (the handout's rule)."""
    with O.own_attention(sub):
        yield


def _mha(sub, rng, C, H):
    weights = O.mha_weights(rng, C)
    module = sub.new("attention.MultiHeadAttention", C, H)
    O.load_weights(module, weights, f"MultiHeadAttention({C}, {H})")
    module.call("eval")
    return module, weights


@pytest.mark.points(5)
def test_mha_matches_oracle(sub, rng):
    """MultiHeadAttention matches the GPT-2 layout around SDPA (B=2, T=5, d_model=12, n_heads=3)"""
    module, w = _mha(sub, rng, 12, 3)
    x = torch.randn(2, 5, 12, generator=rng)
    expect_close(
        module(x), O.mha(x, w, 3), atol=ATOL, what="MultiHeadAttention(12, 3)(x), x of shape (2, 5, 12)"
    )


@pytest.mark.points(4)
def test_mha_other_shapes(sub, rng):
    """MultiHeadAttention for other shapes: (C, H) = (24, 4), (10, 5), (6, 1), and T=300 with (6, 2)"""
    for B, T, C, H in [(3, 7, 24, 4), (1, 6, 10, 5), (2, 4, 6, 1), (1, 300, 6, 2)]:
        module, w = _mha(sub, rng, C, H)
        x = torch.randn(B, T, C, generator=rng)
        expect_close(
            module(x),
            O.mha(x, w, H),
            atol=ATOL,
            what=f"MultiHeadAttention({C}, {H})(x), x of shape {(B, T, C)}",
        )


@pytest.mark.points(1)
def test_mha_parameters(sub):
    """MultiHeadAttention has the pinned parameters qkv (Linear C -> 3C) and proj (Linear C -> C)"""
    C, H = 20, 4
    module = sub.new("attention.MultiHeadAttention", C, H)
    params = sub.call("builtins.dict", module.call("named_parameters"))
    expect(
        isinstance(params, dict), "named_parameters() of MultiHeadAttention did not give (name, tensor) pairs"
    )
    pinned = {"qkv.weight": (3 * C, C), "qkv.bias": (3 * C,), "proj.weight": (C, C), "proj.bias": (C,)}
    for name, shape in pinned.items():
        expect(
            name in params,
            f"MultiHeadAttention({C}, {H}) has no parameter {name!r} (names are pinned: {', '.join(pinned)})",
        )
        expect_tensor(params[name], shape=shape, what=f"MultiHeadAttention({C}, {H}) parameter {name}")


@pytest.mark.points(2)
def test_mha_is_causal(sub, rng):
    """changing x at later positions leaves the outputs at earlier positions unchanged (B=2, T=7, C=12)"""
    module, w = _mha(sub, rng, 12, 3)
    x = torch.randn(2, 7, 12, generator=rng)
    base = module(x)
    expect_close(base, O.mha(x, w, 3), atol=ATOL, what="MultiHeadAttention(12, 3)(x), x of shape (2, 7, 12)")
    x2 = x.clone()
    x2[:, 4:] = torch.randn(2, 3, 12, generator=rng)
    got = expect_tensor(
        module(x2), shape=base.shape, dtype=torch.float32, what="MultiHeadAttention(12, 3)(x)"
    )
    expect_close(
        got[:, :4],
        base[:, :4],
        atol=1e-6,
        what="outputs at positions 0..3 after x changed at positions 4..6 (they must not move)",
    )


@pytest.mark.points(3)
def test_mha_padding_mask(sub, rng):
    """attention_mask is passed through to the attention: padded keys are ignored (B=3, T=6, C=12, H=3)"""
    module, w = _mha(sub, rng, 12, 3)
    x = torch.randn(3, 6, 12, generator=rng)
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 1], [1, 1, 1, 1, 1, 1]])
    expect_close(
        module(x, mask),
        O.mha(x, w, 3, mask),
        atol=ATOL,
        mask=mask.bool()[:, :, None],
        what="MultiHeadAttention(12, 3)(x, attention_mask) at real positions, x of shape "
        "(3, 6, 12), mask rows [0,0,1,1,1,1], [1,0,1,0,1,1], [1,1,1,1,1,1]",
    )
