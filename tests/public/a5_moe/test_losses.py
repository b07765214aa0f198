"""Task 4, losses (15 points).

Oracles: transformers' ``load_balancing_loss_func``; Switch's α·E·Σ f_i P_i; ``torch.logsumexp`` for the
z-loss. Tolerance 1e-5 relative.
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect_scalar


@pytest.mark.points(6)
def test_load_balancing_matches_hf(sub, rng):
    """load_balancing_loss equals load_balancing_loss_func (N=10, E=4, k=2)"""
    logits = torch.randn(10, 4, generator=rng)
    expect_scalar(
        sub.call("losses.load_balancing_loss", logits, 2),
        float(C.hf_balancing_loss(logits, 4, 2)),
        atol=1e-6,
        rtol=1e-5,
        what="load_balancing_loss(logits, 2), logits (10, 4)",
    )


@pytest.mark.points(4)
def test_switch_loss_uniform(sub):
    """Switch's loss is alpha at uniform routing (N=6, E=5, alpha=0.1)"""
    expect_scalar(
        sub.call("losses.switch_balancing_loss", torch.zeros(6, 5), alpha=0.1),
        0.1,
        atol=1e-7,
        what="switch_balancing_loss(zeros(6, 5), alpha=0.1)",
    )


@pytest.mark.points(5)
def test_router_z_loss(sub, rng):
    """z-loss = mean logsumexp^2 (N=7, E=3)"""
    logits = torch.randn(7, 3, generator=rng)
    expect_scalar(
        sub.call("losses.router_z_loss", logits),
        float((torch.logsumexp(logits, -1) ** 2).mean()),
        atol=1e-6,
        rtol=1e-5,
        what="router_z_loss(logits), (7, 3)",
    )
