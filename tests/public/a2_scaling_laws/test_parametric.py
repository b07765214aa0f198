"""Problem 3, Approach 3 (public): the log-sum-exp, Huber, the objective, the grid, a fit, the frontier.

Oracles: ``torch.logsumexp``, ``F.huber_loss``, ``itertools.product``, ``torch.optim.LBFGS`` start by start,
and the frontier table of the facts sheet (Epoch's refit at C = 5.76e23: N_opt 7.22e10, D/N 18.4).
"""

import itertools
import math

import _common as C
import pytest
import torch

from autograder.checks import expect, expect_close

LAW = dict(E=2.0, A=600.0, B=1500.0, alpha=0.33, beta=0.3)


@pytest.mark.points(10)
def test_lse_and_huber(sub, rng):
    """log_loss_lse (theta [4, 5], 6 runs, one term near exp(720)) and huber (r [5, 3])"""
    theta = torch.rand(4, 5, generator=rng, dtype=C.F64) * torch.tensor([7, 7, 1, 0.5, 0.5], dtype=C.F64)
    theta[0, 0] = 720.0
    ln, ld = torch.log(torch.logspace(6, 8, 6, dtype=C.F64)), torch.log(torch.logspace(9, 11, 6, dtype=C.F64))
    a, b, e, al, be = (theta[..., i : i + 1] for i in range(5))
    ref = torch.logsumexp(torch.stack(torch.broadcast_tensors(a - al * ln, b - be * ld, e), -1), -1)
    expect_close(
        sub.call("parametric.log_loss_lse", theta, ln, ld),
        ref,
        atol=1e-9,
        rtol=1e-12,
        what="log_loss_lse, theta [4, 5], 6 runs",
    )
    r = 0.003 * torch.randn(5, 3, generator=rng, dtype=C.F64)
    expect_close(
        sub.call("parametric.huber", r),
        C.torch_huber(r, 1e-3),
        atol=1e-15,
        rtol=1e-12,
        what="huber(r) with the default delta 1e-3, r [5, 3]",
    )


@pytest.mark.points(8)
def test_objective_and_grid(sub, rng):
    """huber_objective (theta [2, 5], 10 runs) is a sum; init_grid is the paper's grid in product order"""
    n, d, _, loss = C.isoflop_runs(LAW, [1e17, 1e18], 5, rng, noise=0.01)
    theta = C.theta_of(LAW) + 0.1 * torch.randn(2, 5, generator=rng, dtype=C.F64)
    got = sub.call("parametric.huber_objective", theta, n.log(), d.log(), loss.log())
    expect_close(got, C.oracle_objective(theta, n, d, loss), atol=1e-15, rtol=1e-10, what="huber_objective")
    ab, e, ex = [0, 5, 10, 15, 20, 25], [-1, -0.5, 0, 0.5, 1], [0, 0.5, 1, 1.5, 2]
    ref = torch.tensor(list(itertools.product(ab, ab, e, ex, ex)), dtype=C.F64)
    expect_close(sub.call("parametric.init_grid"), ref, atol=1e-12, what="init_grid() [4500, 5]")


@pytest.mark.points(10)
def test_fit_parametric(sub, rng):
    """fit_parametric from 2 given starts reaches the Huber optimum of noisy runs (3 budgets x 5 sizes)"""
    n, d, _, loss = C.isoflop_runs(LAW, [1e17, 1e18, 1e19], 5, rng, noise=0.003)
    starts = torch.stack([C.theta_of(LAW) + 0.3, torch.tensor([0.0, 0.0, 0.0, 0.5, 0.5], dtype=C.F64)])
    _, ref_f = C.oracle_fit(n, d, loss, starts)
    got = C.fit_dict(
        sub.call("parametric.fit_parametric", n, d, loss, inits=starts, timeout=60),
        ["E", "A", "B", "alpha", "beta", "objective"],
        "fit_parametric",
    )
    th = torch.tensor(
        [math.log(got["A"]), math.log(got["B"]), math.log(got["E"]), got["alpha"], got["beta"]], dtype=C.F64
    )
    f_got = float(C.oracle_objective(th, n, d, loss))
    expect(
        f_got <= ref_f * (1 + 1e-6) + 1e-15,
        f"fit_parametric: objective {f_got / ref_f:.6g} times the optimum",
    )


@pytest.mark.points(7)
def test_compute_optimal(sub):
    """compute_optimal with Epoch's refit at C = 5.76e23: N_opt = 7.22e10 and D/N = 18.4 (facts sheet)"""
    ep = C.EPOCH
    n, d = sub.call(
        "parametric.compute_optimal",
        torch.tensor([5.76e23], dtype=C.F64),
        ep["A"],
        ep["B"],
        ep["alpha"],
        ep["beta"],
    )
    expect(
        C.rel_err(float(n[0]), 7.22e10) < 2e-3,
        f"compute_optimal N_opt off by {C.rel_err(float(n[0]), 7.22e10):.2%}",
    )
    expect(C.rel_err(float(d[0] / n[0]), 18.4) < 2e-3, "compute_optimal D_opt / N_opt is off")
