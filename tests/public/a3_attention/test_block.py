"""Task 4, Block and MLP (10 points).

Oracles: Hugging Face's ``GPT2Block`` (eager attention, no dropout, run with the causal mask ``GPT2Model``
would give it) and ``GPT2MLP`` (GELU with the tanh approximation), with random weights converted to the pinned
names and loaded into your modules. Tolerance 1e-5 absolute plus 1e-5 relative (float32).
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect_close


@pytest.mark.points(6)
def test_block_matches_hf(sub, rng):
    """Block (d_model=14, n_heads=2) matches a Hugging Face GPT2Block (B=3, T=5)"""
    hf = C.hf_block(rng, 14, 2)
    config = sub.new("model.GPTConfig", vocab_size=3, block_size=16, d_model=14, n_layers=1, n_heads=2)
    block = C.student_module(sub, "model.Block", (config,), hf, "Block(d_model=14, n_heads=2)")
    x = torch.randn(3, 5, 14, generator=rng)
    expect_close(
        block(x),
        C.run_hf(hf, x),
        atol=1e-5,
        rtol=1e-5,
        what="Block(x), x of shape (3, 5, 14), d_model=14, n_heads=2",
    )


@pytest.mark.points(4)
def test_mlp_matches_hf(sub, rng):
    """MLP(10) matches a Hugging Face GPT2MLP: Linear -> GELU (tanh approximation) -> Linear (B=3, T=4)"""
    hf = C.hf_mlp(rng, 10)
    mlp = C.student_module(sub, "model.MLP", (10,), hf, "MLP(10)")
    x = 2.0 * torch.randn(3, 4, 10, generator=rng)
    expect_close(
        mlp(x),
        C.run_hf(hf, x),
        atol=1e-5,
        rtol=1e-5,
        what="MLP(10)(x), x of shape (3, 4, 10) (GPT-2 uses the tanh approximation of GELU)",
    )
