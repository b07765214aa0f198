"""Problem 1, Approach 1 (public): power laws in log space, curves read in ln C, the envelope.

Oracles: ``np.polyfit`` on logs, ``np.interp`` in ln C, the minimum over models at each budget. float64.
"""

import _common as C
import pytest
import torch

from autograder.checks import expect, expect_close

LAW = dict(E=1.6, A=250.0, B=1200.0, alpha=0.3, beta=0.35)


@pytest.mark.points(6)
def test_fit_power_law(sub, rng):
    """fit_power_law recovers y = 2.5 x^0.38 (K=6) and matches np.polyfit on logs for noisy y (K=9)"""
    x = torch.logspace(2, 7, 6, dtype=C.F64)
    p, k = sub.call("envelope.fit_power_law", x, 2.5 * x**0.38)
    expect(
        abs(C.number(p, "exponent") - 0.38) < 1e-9,
        f"fit_power_law exponent off by {abs(float(p) - 0.38):.3g}",
    )
    expect(C.rel_err(C.number(k, "coefficient"), 2.5) < 1e-8, "fit_power_law coefficient is off")
    x = torch.logspace(1, 6, 9, dtype=C.F64)
    y = 0.7 * x**0.52 * torch.exp(0.2 * torch.randn(9, generator=rng, dtype=C.F64))
    p, k = sub.call("envelope.fit_power_law", x, y)
    p_ref, _ = C.np_power_law(x, y)
    expect(
        abs(float(p) - p_ref) < 1e-9,
        f"fit_power_law on noisy data: exponent off by {abs(float(p) - p_ref):.3g} "
        "from least squares in log space",
    )


@pytest.mark.points(6)
def test_curve_loss_at(sub, rng):
    """curve_loss_at: np.interp in ln C inside the curve, inf outside (P=9, K=6)"""
    flops = torch.sort(
        torch.logspace(11, 15, 9, dtype=C.F64) * (1 + 0.1 * torch.rand(9, generator=rng, dtype=C.F64))
    ).values
    loss = 3.5 - 0.2 * torch.log10(flops)
    budgets = torch.tensor([3e11, 1e12, 7e13, 5e14, 1e10, 1e16], dtype=C.F64)
    got = sub.call("envelope.curve_loss_at", flops, loss, budgets)
    expect_close(
        got,
        C.np_curve_at(flops, loss, budgets),
        atol=1e-10,
        what="curve_loss_at(flops [9], loss [9], budgets [6])",
    )


@pytest.mark.points(8)
def test_envelope_and_exponents(sub, rng):
    """loss_envelope and envelope_exponents on idealised curves of 5 models (7 budgets)"""
    flops = torch.logspace(12, 18, 61, dtype=C.F64)
    n, c, loss = C.training_curves(LAW, [2e6, 6e6, 1.8e7, 5e7, 1.5e8], flops, rng)
    budgets = torch.logspace(15.5, 17.5, 7, dtype=C.F64)
    best, n_opt = sub.call("envelope.loss_envelope", n, c, loss, budgets)
    ref_best, ref_n = C.oracle_envelope(n, c, loss, budgets)
    expect_close(best, ref_best, atol=1e-10, what="loss_envelope best_loss, 5 models x 7 budgets")
    expect_close(n_opt, ref_n, atol=0.5, what="loss_envelope n_opt, 5 models x 7 budgets")
    got = C.fit_dict(
        sub.call("envelope.envelope_exponents", n, c, loss, budgets),
        ["a", "b", "k_n", "k_d"],
        "envelope_exponents",
    )
    a, _ = C.np_power_law(budgets, ref_n)
    expect(
        abs(got["a"] - a) < 1e-8 and abs(got["b"] - (1 - a)) < 1e-8,
        f"envelope_exponents: a off by {abs(got['a'] - a):.3g}, b off by {abs(got['b'] - (1 - a)):.3g}",
    )
