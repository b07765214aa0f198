"""Task 1, routing (25 points).

Oracles: HF's MixtralTopKRouter order (softmax, top-k, renormalise; inputs without ties), the pinned tie-break
(a stable descending sort), Switch's top-1, noisy top-k recomputed from the pinned noise. Tolerance 1e-6.
"""

import pytest
import torch
import torch.nn.functional as F

from autograder.checks import expect, expect_close, expect_equal


def _pinned(logits, k):
    probs = torch.softmax(logits, -1)
    top, idx = torch.sort(probs, dim=-1, descending=True, stable=True)
    return top[:, :k] / top[:, :k].sum(-1, keepdim=True), idx[:, :k]


@pytest.mark.points(10)
def test_top_k_gating(sub, rng):
    """top_k_gating: softmax, top-k, renormalise (N=6, E=5, k=2)"""
    logits = torch.randn(6, 5, generator=rng)
    got = sub.call("router.top_k_gating", logits, 2)
    expect(isinstance(got, list) and len(got) == 2, "top_k_gating: expected a pair (gates, experts)")
    gates, experts = _pinned(logits, 2)
    expect_equal(got[1], experts, what="top_k_gating(logits, 2), logits (6, 5): experts")
    expect_close(got[0], gates, atol=1e-6, what="top_k_gating(logits, 2), logits (6, 5): gates")


@pytest.mark.points(5)
def test_top_k_ties(sub):
    """equal logits go to the lower expert index (N=3, E=4, k=2)"""
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 2.0, 2.0], [3.0, 1.0, 3.0, 0.0]])
    got = sub.call("router.top_k_gating", logits, 2)
    expect(isinstance(got, list) and len(got) == 2, "top_k_gating: expected a pair (gates, experts)")
    expect_equal(got[1], _pinned(logits, 2)[1], what="top_k_gating on tied logits (3, 4): experts")


@pytest.mark.points(5)
def test_switch_gating(sub, rng):
    """switch_gating: argmax and its softmax probability (N=7, E=3)"""
    logits = torch.randn(7, 3, generator=rng)
    got = sub.call("router.switch_gating", logits)
    expect(isinstance(got, list) and len(got) == 2, "switch_gating: expected a pair (gate, expert)")
    gate, expert = torch.softmax(logits, -1).max(-1)
    expect_equal(got[1], expert, what="switch_gating(logits), (7, 3): expert")
    expect_close(got[0], gate, atol=1e-6, what="switch_gating(logits), (7, 3): gate")


@pytest.mark.points(5)
def test_noisy_gating(sub, rng):
    """noisy top-k with seed 3 against the pinned noise (N=5, C=4, E=6, k=2)"""
    x = torch.randn(5, 4, generator=rng)
    wg, wn = torch.randn(4, 6, generator=rng), torch.randn(4, 6, generator=rng)
    got = sub.call("router.noisy_top_k_gating", x, wg, wn, 2, seed=3)
    expect(isinstance(got, list) and len(got) == 3, "noisy_top_k_gating: expected (gates, experts, logits)")
    noise = torch.randn(5, 6, generator=torch.Generator().manual_seed(3))
    H = x @ wg + noise * F.softplus(x @ wn)
    expect_close(got[2], H, atol=1e-5, what="noisy_top_k_gating(..., seed=3): logits")
    expect_equal(got[1], _pinned(H, 2)[1], what="noisy_top_k_gating(..., seed=3): experts")
