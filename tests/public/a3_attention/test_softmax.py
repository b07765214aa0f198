"""Task 1, softmax (10 points). Oracle: torch.softmax; tolerance 1e-6 on probabilities (float32)."""

import pytest
import torch

from autograder.checks import expect, expect_close


@pytest.mark.points(4)
def test_softmax_matches_torch(sub, rng):
    """softmax matches torch.softmax along the last axis (shape 3x4x6)"""
    x = 2.0 * torch.randn(3, 4, 6, generator=rng)
    got = sub.call("attention.softmax", x, dim=-1)
    expect_close(got, torch.softmax(x, dim=-1), atol=1e-6, what="softmax(x, dim=-1), x of shape (3, 4, 6)")


@pytest.mark.points(2)
def test_softmax_first_axis(sub, rng):
    """softmax normalises along the axis it is given (dim=0 on shape 5x2x3)"""
    x = 2.0 * torch.randn(5, 2, 3, generator=rng)
    got = sub.call("attention.softmax", x, dim=0)
    expect_close(got, torch.softmax(x, dim=0), atol=1e-6, what="softmax(x, dim=0), x of shape (5, 2, 3)")


@pytest.mark.points(2)
def test_softmax_large_inputs(sub, rng):
    """softmax of x + 1000 does not overflow (subtract the maximum first)"""
    x = torch.randn(2, 7, generator=rng) + 1000.0
    got = sub.call("attention.softmax", x, dim=-1)
    expect_close(
        got,
        torch.softmax(x, dim=-1),
        atol=1e-6,
        rtol=1e-4,
        what="softmax(x + 1000, dim=-1), x of shape (2, 7) (exp(1000) overflows float32)",
    )


@pytest.mark.points(2)
def test_softmax_negative_infinity(sub, rng):
    """entries equal to -inf get probability exactly 0"""
    x = torch.randn(3, 5, generator=rng)
    x[0, 1] = x[1, 0] = x[1, 4] = x[2, 3] = float("-inf")
    got = sub.call("attention.softmax", x, dim=-1)
    expect_close(
        got,
        torch.softmax(x, dim=-1),
        atol=1e-6,
        what="softmax(x, dim=-1) of a (3, 5) input with -inf entries",
    )
    expect(bool((got[torch.isinf(x)] == 0).all()), "softmax: entries equal to -inf must get probability 0")
