"""Problem 2, Approach 2 (public): the parabola in ln N, one vertex per budget, the exponents.

Oracles: ``np.polyfit(ln N, loss, 2)``; for the exponents the vertex or the argmin of the runs is accepted.
"""

import math

import _common as C
import pytest
import torch

from autograder.checks import expect, expect_close

LAW = dict(E=1.8, A=480.0, B=2000.0, alpha=0.34, beta=0.36)
BUDGETS = [1e16, 1e17, 1e18, 1e19, 1e20]


@pytest.mark.points(8)
def test_isoflop_vertex(sub, rng):
    """isoflop_vertex: vertex of an exact parabola in ln N (M=6), and of np.polyfit on noisy losses (M=8)"""
    n = torch.logspace(7, 9, 6, dtype=C.F64)
    got = C.number(
        sub.call("isoflop.isoflop_vertex", n, 2.0 + 0.1 * (torch.log(n) - math.log(5e7)) ** 2), "vertex"
    )
    expect(
        C.rel_err(got, 5e7) < 1e-9,
        f"isoflop_vertex on an exact parabola in ln N: off by {C.rel_err(got, 5e7):.3g}",
    )
    n = torch.logspace(6, 8, 8, dtype=C.F64)
    loss = 2.5 + 0.04 * (torch.log(n) - 16.5) ** 2 + 0.01 * torch.randn(8, generator=rng, dtype=C.F64)
    got = C.number(sub.call("isoflop.isoflop_vertex", n, loss), "vertex")
    expect(
        C.rel_err(got, C.np_vertex(n, loss)) < 1e-7,
        "isoflop_vertex differs from the least-squares parabola's vertex",
    )


@pytest.mark.points(12)
def test_optima_and_exponents(sub, rng):
    """isoflop_optima (5 budgets x 7 sizes) and isoflop_exponents (vertex or argmin accepted)"""
    n, _, c, loss = C.isoflop_runs(LAW, BUDGETS, 7, rng, noise=0.002)
    budgets, n_opt = sub.call("isoflop.isoflop_optima", n, c, loss)
    ref = torch.tensor([C.np_vertex(n[c == b], loss[c == b]) for b in BUDGETS], dtype=C.F64)
    expect_close(
        budgets, torch.tensor(BUDGETS, dtype=C.F64), atol=0, rtol=1e-12, what="isoflop_optima budgets"
    )
    expect_close(n_opt, ref, atol=0, rtol=1e-7, what="isoflop_optima n_opt (5 budgets x 7 sizes)")
    got = C.fit_dict(
        sub.call("isoflop.isoflop_exponents", n, c, loss), ["a", "b", "k_n", "k_d"], "isoflop_exponents"
    )
    argmin = torch.stack([n[c == b][torch.argmin(loss[c == b])] for b in BUDGETS])
    cs = torch.tensor(BUDGETS, dtype=C.F64)
    options = [C.np_power_law(cs, m)[0] for m in (ref, argmin)]
    expect(
        any(abs(got["a"] - a) < 1e-8 and abs(got["b"] - (1 - a)) < 1e-8 for a in options),
        f"isoflop_exponents: a off by {min(abs(got['a'] - a) for a in options):.3g} from both accepted fits",
    )
