"""Task 4, the pre-norm decoder Block and its MLP (10 points).

Oracle: one Hugging Face GPT-2 block (``GPT2Model`` with one layer, eager attention, no dropout, position
table zeroed so that the block reads ``inputs_embeds`` exactly; its output is captured with a forward hook),
with random weights converted to the kit's names. The MLP is checked against ``F.linear`` and
``F.gelu(approximate="tanh")``. Tolerance: 1e-5 absolute plus 1e-5 relative on outputs of order one (float32).
"""

import math

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import expect_close

ATOL, RTOL = 1e-5, 1e-5


def _block(sub, rng, C, H, eps):
    run, state = O.hf_block(rng, d_model=C, n_heads=H, layer_norm_eps=eps)
    config = sub.new(
        "model.GPTConfig", vocab_size=3, block_size=16, d_model=C, n_layers=1, n_heads=H, layer_norm_eps=eps
    )
    block = sub.new("model.Block", config)
    O.load_weights(block, state, f"Block (d_model={C}, n_heads={H})")
    block.call("eval")
    return block, run


@pytest.mark.points(4)
def test_block_matches_hf(sub, rng):
    """Block matches a Hugging Face GPT-2 block (B=2, T=5, d_model=24, n_heads=3)"""
    block, run = _block(sub, rng, 24, 3, 1e-5)
    x = torch.randn(2, 5, 24, generator=rng)
    expect_close(
        block(x), run(x), atol=ATOL, rtol=RTOL, what="Block(x), x of shape (2, 5, 24), d_model=24, n_heads=3"
    )


@pytest.mark.points(2)
def test_block_other_config(sub, rng):
    """Block with d_model=20, n_heads=5 and layer_norm_eps=1e-3 (B=3, T=7): the config's eps is used"""
    block, run = _block(sub, rng, 20, 5, 1e-3)
    x = 0.1 * torch.randn(3, 7, 20, generator=rng)  # small activations: the LayerNorm eps matters
    expect_close(
        block(x),
        run(x),
        atol=ATOL,
        rtol=RTOL,
        what="Block(x), x of shape (3, 7, 20), d_model=20, n_heads=5, layer_norm_eps=1e-3",
    )


@pytest.mark.points(2)
def test_block_padding_mask(sub, rng):
    """Block passes attention_mask to its attention (B=2, T=7, d_model=24, n_heads=3, padding inside rows)"""
    block, run = _block(sub, rng, 24, 3, 1e-5)
    x = torch.randn(2, 7, 24, generator=rng)
    mask = O.mask_with_holes(rng, 2, 7)
    expect_close(
        block(x, mask),
        run(x, mask),
        atol=ATOL,
        rtol=RTOL,
        mask=mask.bool()[:, :, None],
        what="Block(x, attention_mask) at real positions, x of shape (2, 7, 24)",
    )


@pytest.mark.points(2)
def test_mlp_tanh_gelu(sub, rng):
    """MLP is Linear(C, 4C) -> GELU, tanh approximation -> Linear(4C, C) (B=2, T=3, d_model=8)"""
    C = 8
    w = {
        "fc.weight": torch.randn(4 * C, C, generator=rng) / math.sqrt(C),
        "fc.bias": 0.1 * torch.randn(4 * C, generator=rng),
        "proj.weight": torch.randn(C, 4 * C, generator=rng) / math.sqrt(4 * C),
        "proj.bias": 0.1 * torch.randn(C, generator=rng),
    }
    mlp = sub.new("model.MLP", C)
    O.load_weights(mlp, w, f"MLP({C})")
    x = 3.0 * torch.randn(2, 3, C, generator=rng)  # pre-activations of a few units: the two GELUs differ
    h = F.gelu(F.linear(x, w["fc.weight"], w["fc.bias"]), approximate="tanh")
    expect_close(
        mlp(x),
        F.linear(h, w["proj.weight"], w["proj.bias"]),
        atol=ATOL,
        rtol=RTOL,
        what=f"MLP({C})(x), x of shape (2, 3, {C}) (GPT-2 uses the tanh approximation of GELU)",
    )
