"""Problem 1, Approach 1: training-curve envelope and power laws in log space (20 points).

Oracles: ``np.polyfit`` on natural logs (power laws), ``np.interp`` in ln C (curves), the minimum over models
of those curves at each budget (envelope). Data: idealised training curves L(N, C / 6N) of a known law, in
shuffled row order. Tolerances: 1e-9 relative on fitted exponents and coefficients of exact data (float64),
1e-10 absolute on interpolated losses.
"""

import _oracles as O
import pytest
import torch

from autograder.checks import expect, expect_close

LAW = dict(E=1.75, A=350.0, B=1800.0, alpha=0.31, beta=0.37)  # a = 0.544, b = 0.456
SIZES = [1.1e6, 2.9e6, 7.5e6, 2.2e7, 6.1e7, 1.7e8]
FLOPS = torch.logspace(12.5, 18.5, 73, dtype=O.F64)
BUDGETS = torch.logspace(15.2, 17.6, 9, dtype=O.F64)


@pytest.mark.points(3)
def test_power_law_exact(sub, rng):
    """fit_power_law recovers y = k x^p exactly (K=7, p=0.47, k=3.2e-2)"""
    x = torch.logspace(3, 9, 7, dtype=O.F64) * (1 + 0.3 * torch.rand(7, generator=rng, dtype=O.F64))
    got = sub.call("envelope.fit_power_law", x, 3.2e-2 * x**0.47)
    expect(isinstance(got, list | tuple) and len(got) == 2, "fit_power_law must return (p, k)")
    p, k = O.number(got[0], "fit_power_law exponent"), O.number(got[1], "fit_power_law coefficient")
    expect(
        abs(p - 0.47) < 1e-9, f"fit_power_law on exact y = k x^p, K=7: exponent off by {abs(p - 0.47):.3g}"
    )
    expect(
        O.rel_err(k, 3.2e-2) < 1e-8, f"fit_power_law: coefficient off by {O.rel_err(k, 3.2e-2):.3g} relative"
    )


@pytest.mark.points(3)
def test_power_law_noisy_in_log_space(sub, rng):
    """fit_power_law is least squares in log space (np.polyfit on logs), noisy data over 6 decades (K=11)"""
    x = torch.logspace(2, 8, 11, dtype=O.F64)
    y = 5.0 * x**0.61 * torch.exp(0.3 * torch.randn(11, generator=rng, dtype=O.F64))
    got = sub.call("envelope.fit_power_law", x, y)
    p_ref, k_ref = O.np_power_law(x, y)
    p, k = O.number(got[0], "exponent"), O.number(got[1], "coefficient")
    expect(
        abs(p - p_ref) < 1e-9,
        f"fit_power_law on noisy data (K=11): exponent off by {abs(p - p_ref):.3g} "
        "from least squares on log y against log x",
    )
    expect(
        O.rel_err(k, k_ref) < 1e-8, f"fit_power_law: coefficient off by {O.rel_err(k, k_ref):.3g} relative"
    )


@pytest.mark.points(4)
def test_curve_loss_at(sub, rng):
    """curve_loss_at interpolates linearly in ln C, exact at evaluated points (both ends included), inf
    outside (P=13, K=10)"""
    flops = torch.logspace(10, 14, 13, dtype=O.F64) * (1 + 0.2 * torch.rand(13, generator=rng, dtype=O.F64))
    flops = torch.sort(flops).values
    loss = 4.0 - 0.3 * torch.log10(flops) + 0.05 * torch.rand(13, generator=rng, dtype=O.F64)
    budgets = torch.cat(
        [
            torch.logspace(10.5, 13.5, 5, dtype=O.F64),
            flops[3:4],
            flops[:1],  # the curve's first and last points are inside it: [flops[0], flops[-1]]
            flops[-1:],
            torch.tensor([1e9, 1e15], dtype=O.F64),
        ]
    )
    got = sub.call("envelope.curve_loss_at", flops, loss, budgets)
    expect_close(
        got,
        O.np_curve_at(flops, loss, budgets),
        atol=1e-10,
        what="curve_loss_at(flops [13], loss [13], budgets [10]) (its two ends, and two budgets outside it)",
    )


@pytest.mark.points(5)
def test_loss_envelope(sub, rng):
    """loss_envelope: per budget, the lowest curve and its model size (6 models, 9 budgets, shuffled rows);
    an exact tie goes to the smaller model"""
    n, c, loss = O.training_curves(LAW, SIZES, FLOPS, rng, noise=0.01)
    budgets = torch.cat([BUDGETS, torch.tensor([1e11], dtype=O.F64)])  # the last one no curve covers
    got = sub.call("envelope.loss_envelope", n, c, loss, budgets)
    expect(isinstance(got, list | tuple) and len(got) == 2, "loss_envelope must return (best_loss, n_opt)")
    best, n_opt = O.oracle_envelope(n, c, loss, budgets)
    expect_close(
        got[0], best, atol=1e-10, what="loss_envelope best_loss, 10 budgets (the last covered by no curve)"
    )
    expect_close(got[1][:-1], n_opt[:-1], atol=0.5, what="loss_envelope n_opt, the 9 covered budgets")
    expect(bool(torch.isnan(got[1][-1])), "loss_envelope: a budget no curve covers must give n_opt = nan")
    # an exact tie: two curves through the same point, the larger model's rows first
    n_t = torch.tensor([2e8, 2e8, 2e8, 1e8, 1e8, 1e8], dtype=O.F64)
    c_t = torch.tensor([1e15, 1e16, 1e17, 1e15, 1e16, 1e17], dtype=O.F64)
    l_t = torch.tensor([3.0, 2.5, 2.2, 2.9, 2.5, 2.4], dtype=O.F64)
    tie = sub.call("envelope.loss_envelope", n_t, c_t, l_t, torch.tensor([1e16], dtype=O.F64))
    expect(
        isinstance(tie, list | tuple) and len(tie) == 2 and float(tie[1][0]) == 1e8,
        f"loss_envelope at a budget where two curves tie (loss 2.5 for 1e8 and 2e8 parameters, the 2e8 rows "
        f"first) gave n_opt = {tie[1] if isinstance(tie, list | tuple) and len(tie) == 2 else tie}; "
        f"ties go to the smaller model",
    )


@pytest.mark.points(5)
def test_envelope_exponents(sub, rng):
    """envelope_exponents: a and b of N_opt and D_opt = C/(6 N_opt) through the envelope (noisy curves)"""
    sizes = torch.logspace(6, 8.5, 11, dtype=O.F64).tolist()
    n, c, loss = O.training_curves(LAW, sizes, FLOPS, rng, noise=0.002)
    got = O.fit_dict(
        sub.call("envelope.envelope_exponents", n, c, loss, BUDGETS),
        ["a", "k_n", "b", "k_d"],
        "envelope_exponents",
    )
    _, n_opt = O.oracle_envelope(n, c, loss, BUDGETS)
    a, k_n = O.np_power_law(BUDGETS, n_opt)
    b, k_d = O.np_power_law(BUDGETS, BUDGETS / (6 * n_opt))
    for key, ref in [("a", a), ("b", b)]:
        expect(
            abs(got[key] - ref) < 1e-8,
            f"envelope_exponents[{key!r}] (11 models, 9 budgets) off by "
            f"{abs(got[key] - ref):.3g}; a is the exponent of N_opt, b of D_opt",
        )
    for key, ref in [("k_n", k_n), ("k_d", k_d)]:
        expect(
            O.rel_err(got[key], ref) < 1e-6,
            f"envelope_exponents[{key!r}] off by {O.rel_err(got[key], ref):.3g} rel",
        )
