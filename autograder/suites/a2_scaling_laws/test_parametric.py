"""Problem 3, Approach 3: the parametric fit and its compute-optimal frontier (35 points).

Oracles: ``torch.logsumexp`` and ``F.huber_loss`` (objective), ``itertools.product`` (grid), a start-by-start
``torch.optim.LBFGS`` fit with strong Wolfe line search in float64 (fits), and the frontier table of the facts
sheet at C = 5.76e23 computed from Hoffmann et al. 2022 eq. 4 with the rounded and unrounded coefficients of
eq. 10 and Epoch AI's refit (Besiroglu et al. 2024). Data: IsoFLOP runs of a known law. Tolerances: 1e-10
relative on closed forms, objectives within 1e-6 relative of the oracle's optimum, the table to its 3 printed
digits.
"""

import itertools
import math

import _oracles as O
import pytest
import torch

from autograder.checks import expect, expect_close

LAW = dict(E=1.7, A=300.0, B=900.0, alpha=0.32, beta=0.29)


def _runs(rng, budgets, per, noise=0.0):
    n, d, _, loss = O.isoflop_runs(LAW, budgets, per, rng, noise=noise)
    return n, d, loss


@pytest.mark.points(3)
def test_log_loss_lse(sub, rng):
    """log_loss_lse(theta [2, 3, 5], log N [7], log D [7]) is log(A/N^alpha + B/D^beta + E)"""
    theta = torch.rand(2, 3, 5, generator=rng, dtype=O.F64) * torch.tensor([8, 8, 1, 0.6, 0.6], dtype=O.F64)
    ln = torch.log(torch.logspace(6, 9, 7, dtype=O.F64))
    ld = torch.log(torch.logspace(8, 11, 7, dtype=O.F64).flip(0))
    a, b, e, al, be = (theta[..., i : i + 1] for i in range(5))
    ref = torch.log(torch.exp(a - al * ln) + torch.exp(b - be * ld) + torch.exp(e))
    expect_close(
        sub.call("parametric.log_loss_lse", theta, ln, ld),
        ref,
        atol=1e-12,
        rtol=1e-12,
        what="log_loss_lse, theta [2, 3, 5], 7 runs",
    )


@pytest.mark.points(3)
def test_log_loss_lse_does_not_overflow(sub, rng):
    """log_loss_lse stays finite and exact when a - alpha log N is beyond exp's float64 range (~709)"""
    theta = torch.tensor(
        [[800.0, 3.0, 0.5, 0.3, 0.3], [2.0, 760.0, 0.1, 0.2, 0.4], [1.0, 2.0, 750.0, 0.1, 0.1]], dtype=O.F64
    )
    ln = torch.log(torch.logspace(6, 8, 4, dtype=O.F64))
    ld = torch.log(torch.logspace(9, 11, 4, dtype=O.F64))
    a, b, e, al, be = (theta[..., i : i + 1] for i in range(5))
    ref = torch.logsumexp(torch.stack(torch.broadcast_tensors(a - al * ln, b - be * ld, e), dim=-1), dim=-1)
    expect_close(
        sub.call("parametric.log_loss_lse", theta, ln, ld),
        ref,
        atol=1e-9,
        rtol=1e-12,
        what="log_loss_lse with terms up to exp(800), theta [3, 5], 4 runs (write it as a log-sum-exp)",
    )


@pytest.mark.points(4)
def test_huber(sub, rng):
    """huber matches F.huber_loss(reduction='none'): default delta 1e-3, and delta=0.02 (r of shape [4, 6])"""
    r = 0.004 * torch.randn(4, 6, generator=rng, dtype=O.F64)
    r[0, :3] = torch.tensor([1e-4, -5e-4, 2e-3], dtype=O.F64)
    expect_close(
        sub.call("parametric.huber", r),
        O.torch_huber(r, 1e-3),
        atol=1e-15,
        rtol=1e-12,
        what="huber(r) with the default delta, r [4, 6] of order 4e-3",
    )
    r2 = 0.05 * torch.randn(4, 6, generator=rng, dtype=O.F64)
    expect_close(
        sub.call("parametric.huber", r2, delta=0.02),
        O.torch_huber(r2, 0.02),
        atol=1e-15,
        rtol=1e-12,
        what="huber(r, delta=0.02), r [4, 6]",
    )


@pytest.mark.points(4)
def test_huber_objective(sub, rng):
    """huber_objective sums (not averages) Huber of log residuals per theta, optional weights [3, R=11]"""
    n, d, loss = _runs(rng, [1e17, 1e18], 6, noise=0.01)
    n, d, loss = n[:11], d[:11], loss[:11]
    theta = O.theta_of(LAW) + 0.05 * torch.randn(3, 5, generator=rng, dtype=O.F64)
    ln, ld, ll = torch.log(n), torch.log(d), torch.log(loss)
    expect_close(
        sub.call("parametric.huber_objective", theta, ln, ld, ll),
        O.oracle_objective(theta, n, d, loss),
        atol=1e-15,
        rtol=1e-10,
        what="huber_objective(theta [3, 5], 11 runs)",
    )
    w = torch.randint(0, 3, (3, 11), generator=rng).to(O.F64)
    expect_close(
        sub.call("parametric.huber_objective", theta, ln, ld, ll, weights=w),
        O.oracle_objective(theta, n, d, loss, weights=w),
        atol=1e-15,
        rtol=1e-10,
        what="huber_objective(theta [3, 5], 11 runs, weights [3, 11])",
    )


@pytest.mark.points(3)
def test_init_grid(sub):
    """init_grid is the paper's 4,500 starts in itertools.product order over (a, b, e, alpha, beta)"""
    ab, e, ex = [0, 5, 10, 15, 20, 25], [-1, -0.5, 0, 0.5, 1], [0, 0.5, 1, 1.5, 2]
    ref = torch.tensor(list(itertools.product(ab, ab, e, ex, ex)), dtype=O.F64)
    expect_close(sub.call("parametric.init_grid"), ref, atol=1e-12, what="init_grid() [4500, 5]")


# A law whose N term is small beside E and the D term: from the grid's first start (0, 0, -1, 0, 0) L-BFGS
# ends in a local minimum where one power-law term has flattened into a constant (alpha or beta near 0.02),
# a summed Huber objective near 4e-5 on each of the 10 jittered run sets tried with the reference's search,
# while other starts of the grid reach the law itself (objective 0). A fit from one start only cannot pass the
# test below.
TRAP = dict(E=2.8, A=24.0, B=3840.0, alpha=0.6, beta=0.375)


@pytest.mark.points(6)
@pytest.mark.fit
def test_fit_from_the_grid_recovers_the_law(sub, rng):
    """fit_parametric from the default grid recovers a known law (12 noise-free runs; one start gets stuck)"""
    n, d, _, loss = O.isoflop_runs(TRAP, [3e16, 1e18, 3e19], 4, rng)
    got = O.fit_dict(
        sub.call("parametric.fit_parametric", n, d, loss, timeout=60),
        ["E", "A", "B", "alpha", "beta", "objective"],
        "fit_parametric",
    )
    expect(
        got["objective"] < 1e-9,
        f"fit_parametric on noise-free runs of a known law (12 runs): the best summed "
        f"Huber objective is {got['objective']:.3g}, a perfect fit exists (the true law gives 0); "
        "a single start ends in a local minimum on these runs: keep the best of the whole grid",
    )
    th = torch.tensor(
        [math.log(got["A"]), math.log(got["B"]), math.log(got["E"]), got["alpha"], got["beta"]], dtype=O.F64
    )
    pred = O.law_loss(n, d, dict(E=got["E"], A=got["A"], B=got["B"], alpha=got["alpha"], beta=got["beta"]))
    expect_close(pred, loss, atol=0, rtol=1e-4, what="the fitted law's losses at the 12 runs")
    expect(
        float(O.oracle_objective(th, n, d, loss)) < 1e-9,
        "fit_parametric: the returned coefficients do not "
        "reproduce the returned objective (A = exp(a), B = exp(b), E = exp(e))",
    )


@pytest.mark.points(6)
@pytest.mark.fit
def test_fit_with_outliers(sub, rng):
    """fit_parametric from 3 given starts: the Huber optimum of noisy runs with 2 outliers (4 x 5 runs)"""
    n, d, loss = _runs(rng, [1e16, 1e17, 1e18, 1e19], 5, noise=0.004)
    loss[3] *= 1.4
    loss[12] *= 0.75
    truth = O.theta_of(LAW)
    starts = torch.stack(
        [
            truth + torch.tensor([0.5, -0.5, 0.1, 0.05, -0.05], dtype=O.F64),
            torch.tensor([0.0, 0.0, -1.0, 0.0, 0.0], dtype=O.F64),
            torch.tensor([5.0, 5.0, 0.5, 0.5, 0.5], dtype=O.F64),
        ]
    )
    got = O.fit_dict(
        sub.call("parametric.fit_parametric", n, d, loss, inits=starts, timeout=60),
        ["E", "A", "B", "alpha", "beta", "objective"],
        "fit_parametric",
    )
    th = torch.tensor(
        [math.log(got["A"]), math.log(got["B"]), math.log(got["E"]), got["alpha"], got["beta"]], dtype=O.F64
    )
    f_got = float(O.oracle_objective(th, n, d, loss))
    # The oracle runs after the call (a failing call costs no fit) from the first start and from the returned
    # point: on these runs the three starts reach one optimum (the reference and torch.optim.LBFGS from each
    # start agree on the seeds tried), and a returned point that is a minimum costs its run a few steps, one
    # that is not is improved by it.
    ref_theta, ref_f = O.oracle_fit(n, d, loss, torch.stack([starts[0], th]))
    expect(
        f_got <= ref_f * (1 + 1e-6) + 1e-15,
        f"fit_parametric (20 runs, 2 outliers, 3 starts): the summed Huber "
        f"(delta 1e-3) objective of the returned coefficients is {f_got / ref_f:.6g} times the optimum",
    )
    expect(
        abs(got["objective"] - f_got) <= 1e-9 * f_got + 1e-15,
        "fit_parametric: 'objective' is not the summed Huber objective of the returned coefficients",
    )
    for i, key in [(3, "alpha"), (4, "beta")]:
        expect(
            abs(got[key] - float(ref_theta[i])) < 1e-3,
            f"fit_parametric: {key} off by {abs(got[key] - float(ref_theta[i])):.3g} from the optimum",
        )


@pytest.mark.points(3)
def test_frontier_table(sub):
    """compute_optimal at C = 5.76e23: N_opt and D/N for the rounded, unrounded and Epoch coefficients"""
    table = [
        ("rounded eq. 10", O.ROUNDED, 3.22e10, 92.6),
        ("unrounded", O.PAPER, 4.04e10, 58.9),
        ("Epoch refit", O.EPOCH, 7.22e10, 18.4),
    ]
    c = torch.tensor([5.76e23], dtype=O.F64)
    for name, law, n_ref, ratio_ref in table:
        got = sub.call("parametric.compute_optimal", c, law["A"], law["B"], law["alpha"], law["beta"])
        n_opt, d_opt = float(got[0][0]), float(got[1][0])
        expect(
            O.rel_err(n_opt, n_ref) < 2e-3,
            f"compute_optimal, {name} coefficients, C = 5.76e23: N_opt off by "
            f"{O.rel_err(n_opt, n_ref):.2%} from the paper's eq. 4",
        )
        expect(
            O.rel_err(d_opt / n_opt, ratio_ref) < 2e-3,
            f"compute_optimal, {name}: D_opt/N_opt off by {O.rel_err(d_opt / n_opt, ratio_ref):.2%}",
        )


@pytest.mark.points(2)
def test_frontier_shape_and_budget(sub, rng):
    """compute_optimal on C of shape [2, 3]: matches eq. 4 and spends the budget, 6 N D = C"""
    c = 10 ** (18 + 6 * torch.rand(2, 3, generator=rng, dtype=O.F64))
    got = sub.call("parametric.compute_optimal", c, LAW["A"], LAW["B"], LAW["alpha"], LAW["beta"])
    n_ref, d_ref = O.frontier(c, LAW)
    expect_close(got[0], n_ref, atol=0, rtol=1e-10, what="compute_optimal N_opt, C [2, 3]")
    expect_close(got[1], d_ref, atol=0, rtol=1e-10, what="compute_optimal D_opt, C [2, 3]")


@pytest.mark.points(1)
def test_predict_loss(sub, rng):
    """predict_loss broadcasts N [3, 1] against D [4]"""
    n = torch.logspace(7, 9, 3, dtype=O.F64)[:, None]
    d = torch.logspace(9, 11, 4, dtype=O.F64)
    got = sub.call("parametric.predict_loss", n, d, LAW["E"], LAW["A"], LAW["B"], LAW["alpha"], LAW["beta"])
    expect_close(got, O.law_loss(n, d, LAW), atol=0, rtol=1e-12, what="predict_loss(N [3, 1], D [4])")
