"""Problem 4 (public): budgets for a model size, tokens per parameter, bootstrap refits, intervals.

Oracles: eq. 4 inverted in closed form, ``torch.optim.LBFGS`` with run weights, ``torch.quantile``.
"""

import _common as C
import pytest
import torch

from autograder.checks import expect, expect_close

LAW = dict(E=1.7, A=380.0, B=1100.0, alpha=0.3, beta=0.33)


@pytest.mark.points(12)
def test_budget_and_ratio(sub, rng):
    """budget_for_model (N [4]) inverts the frontier; tokens_per_parameter (C [3]) is D_opt / N_opt"""
    n = torch.logspace(7, 10, 4, dtype=C.F64)
    comp, tok = sub.call("predictions.budget_for_model", n, LAW["A"], LAW["B"], LAW["alpha"], LAW["beta"])
    n_back, _ = C.frontier(comp, LAW)
    expect_close(n_back, n, atol=0, rtol=1e-9, what="N_opt(budget_for_model(N)), N [4]")
    expect_close(tok, comp / (6 * n), atol=0, rtol=1e-9, what="budget_for_model tokens = C / (6N)")
    c = torch.tensor([1e19, 1e21, 1e23], dtype=C.F64)
    nn, dd = C.frontier(c, LAW)
    got = sub.call("predictions.tokens_per_parameter", c, LAW["A"], LAW["B"], LAW["alpha"], LAW["beta"])
    expect_close(got, dd / nn, atol=0, rtol=1e-9, what="tokens_per_parameter, C [3]")


@pytest.mark.points(13)
def test_bootstrap_and_interval(sub, rng):
    """bootstrap_parametric (J=2 resamples of 12 of 15 runs) and exponent_interval (J=9)"""
    n, d, _, loss = C.isoflop_runs(LAW, [1e17, 1e18, 1e19], 5, rng, noise=0.01)
    idx = torch.randint(0, 15, (2, 12), generator=rng)
    init = C.theta_of(LAW)
    got = sub.call("predictions.bootstrap_parametric", n, d, loss, idx, init, timeout=60)
    expect(
        isinstance(got, torch.Tensor) and tuple(got.shape) == (2, 5),
        "bootstrap_parametric must return [J, 5]",
    )
    for j in range(2):
        w = torch.bincount(idx[j], minlength=15).to(C.F64)
        _, ref_f = C.oracle_fit(n, d, loss, init[None], weights=w)
        f_got = float(C.oracle_objective(got[j], n, d, loss, weights=w))
        expect(
            f_got <= ref_f * (1 + 1e-3) + 1e-15,  # a flat valley: within 0.1% of the optimum
            f"bootstrap_parametric resample {j}: objective {f_got / ref_f:.6g} "
            "times the optimum (weights = draw counts)",
        )
    thetas = 0.2 + 0.2 * torch.rand(9, 5, generator=rng, dtype=C.F64)
    a = thetas[:, 4] / thetas[:, 3:].sum(1)
    got = C.fit_dict(
        sub.call("predictions.exponent_interval", thetas), ["a_lo", "a_hi", "b_lo", "b_hi"], "interval"
    )
    q = torch.quantile(a, torch.tensor([0.1, 0.9], dtype=C.F64))
    expect(
        abs(got["a_lo"] - float(q[0])) < 1e-12 and abs(got["a_hi"] - float(q[1])) < 1e-12,
        "exponent_interval: a's 10th/90th percentiles differ from torch.quantile of beta/(alpha+beta)",
    )
    expect(abs(got["b_lo"] - (1 - float(q[1]))) < 1e-12, "exponent_interval: b_lo is not 1 - a_hi")
