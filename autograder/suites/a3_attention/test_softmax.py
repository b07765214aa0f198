"""Task 1, softmax (10 points).

Oracle: torch.softmax. Tolerance: 1e-6 absolute on probabilities (float32). On inputs of magnitude 100 to 1000
a relative 1e-4 is allowed on top: float32 spaces numbers near 1000 by 6e-5, so a correct softmax computed as
exp(x - logsumexp(x)) carries a relative error of about 3e-5 there (subtracting the maximum is exact).
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect, expect_close, expect_probe_grads

ATOL = 1e-6
RTOL_LARGE = 1e-4


@pytest.mark.points(1)
def test_softmax_matches_torch(sub, rng):
    """softmax matches torch.softmax along the last axis (shape 2x3x5x7)"""
    x = 2.0 * torch.randn(2, 3, 5, 7, generator=rng)
    got = sub.call("attention.softmax", x, dim=-1)
    expect_close(got, torch.softmax(x, dim=-1), atol=ATOL, what="softmax(x, dim=-1), x of shape (2, 3, 5, 7)")


@pytest.mark.points(2)
def test_softmax_other_axes(sub, rng):
    """softmax normalises along the axis it is given (dim=0, 1, -2 on shape 4x6x5)"""
    x = 2.0 * torch.randn(4, 6, 5, generator=rng)
    for dim in (1, 0, -2):
        got = sub.call("attention.softmax", x, dim=dim)
        expect_close(
            got, torch.softmax(x, dim=dim), atol=ATOL, what=f"softmax(x, dim={dim}), x of shape (4, 6, 5)"
        )


@pytest.mark.points(2)
def test_softmax_large_inputs(sub, rng):
    """softmax of x + 1000 does not overflow (subtract the maximum first)"""
    x = torch.randn(3, 8, generator=rng)
    shifted = x + 1000.0  # float32 rounds x + 1000 to steps of 6e-5: compare with the softmax of this input
    got = sub.call("attention.softmax", shifted, dim=-1)
    expect_close(
        got,
        torch.softmax(shifted, dim=-1),
        atol=ATOL,
        rtol=RTOL_LARGE,
        what="softmax(x + 1000, dim=-1), x of shape (3, 8) (exp(1000) overflows float32)",
    )
    got = sub.call("attention.softmax", 80.0 * x, dim=-1)
    expect_close(
        got,
        torch.softmax(80.0 * x, dim=-1),
        atol=ATOL,
        rtol=RTOL_LARGE,
        what="softmax(80 * x, dim=-1), x of shape (3, 8) (entries up to a few hundred)",
    )


@pytest.mark.points(2)
def test_softmax_negative_infinity(sub, rng):
    """entries equal to -inf get probability exactly 0 (a causal mask relies on it)"""
    x = torch.randn(4, 6, generator=rng)
    masked = torch.rand(4, 6, generator=rng) < 0.4
    masked[:, 2] = False  # every row keeps a finite entry
    masked[0, 0] = True  # a row whose first entry is -inf
    masked[1] = True
    masked[1, 2] = False  # a row with a single finite entry
    x = x.masked_fill(masked, float("-inf"))
    got = sub.call("attention.softmax", x, dim=-1)
    expect_close(
        got,
        torch.softmax(x, dim=-1),
        atol=ATOL,
        what="softmax(x, dim=-1) of a (4, 6) input with -inf entries",
    )
    expect(bool((got[masked] == 0).all()), "softmax: entries equal to -inf must get probability exactly 0")


@pytest.mark.points(1)
@pytest.mark.visibility("after_due_date")
def test_softmax_rows_of_different_scales(sub, rng):
    """softmax subtracts the maximum of each slice, not of the whole tensor (rows offset by 0, 200, 400)"""
    x = torch.randn(3, 5, generator=rng) + torch.tensor([[0.0], [200.0], [400.0]])
    got = sub.call("attention.softmax", x, dim=-1)
    expect_close(
        got,
        torch.softmax(x, dim=-1),
        atol=ATOL,
        rtol=RTOL_LARGE,
        what="softmax(x, dim=-1), x of shape (3, 5) whose rows are offset by 0, 200 and 400",
    )
    got = sub.call("attention.softmax", x.t().contiguous(), dim=0)
    expect_close(
        got,
        torch.softmax(x.t(), dim=0),
        atol=ATOL,
        rtol=RTOL_LARGE,
        what="softmax(x, dim=0), x of shape (5, 3) whose columns are offset by 0, 200 and 400",
    )


@pytest.mark.points(1)
@pytest.mark.visibility("after_due_date")
def test_softmax_float64(sub, rng):
    """softmax keeps the input's dtype (a float64 test, tolerance 1e-12)"""
    x = torch.randn(2, 9, dtype=torch.float64, generator=rng)
    got = sub.call("attention.softmax", x, dim=-1)
    expect_close(
        got, torch.softmax(x, dim=-1), atol=1e-12, what="softmax(x, dim=-1), x float64 of shape (2, 9)"
    )


@pytest.mark.points(1)
def test_softmax_gradient_and_input_unchanged(sub, rng):
    """softmax passes gradients like torch.softmax and leaves its input unchanged (dim=1, shape 3x6x4)"""
    x = 2.0 * torch.randn(3, 6, 4, generator=rng)
    upstream = torch.randn(3, 6, 4, generator=rng)
    what = "softmax(x, dim=1), x of shape (3, 6, 4)"
    r = sub.probe("attention.softmax", x, kwargs={"dim": 1}, observe=["inputs_after"])
    expect_close(r["value"], torch.softmax(x, dim=1), atol=ATOL, what=what)
    O.expect_unchanged(r["inputs_after"]["args"][0], x, what=f"x after {what}")
    r = sub.probe(
        "attention.softmax", x, kwargs={"dim": 1}, observe=["grads"], grad_inputs=[0], upstream=upstream
    )
    leaf = x.clone().requires_grad_(True)
    (torch.softmax(leaf, dim=1) * upstream).sum().backward()
    grads = r["grads"]
    expect(grads["error"] is None, f"backpropagating through {what} failed: {grads['error']}")
    expect_probe_grads({"x": grads["inputs"]["0"]}, {"x": leaf.grad}, what=f"d sum(g * {what}) / dx")
