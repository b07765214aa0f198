"""Problem 2, Approach 2: IsoFLOP profiles (20 points).

Oracles: ``np.polyfit(ln N, loss, 2)`` and its vertex; ``np.polyfit`` on logs for the power laws. For the
exponents both defensible minima are accepted: the parabola's vertex (what the handout asks) and the argmin of
the sampled runs. Data: IsoFLOP runs of a known law, shuffled. Tolerances: 1e-9 relative on exact parabolas,
1e-7 relative on least-squares vertices, 1e-8 on exponents (float64).
"""

import math

import _oracles as O
import pytest
import torch

from autograder.checks import expect, expect_close

LAW = dict(E=1.9, A=520.0, B=2600.0, alpha=0.36, beta=0.33)  # a = 0.478
BUDGETS = [3e15, 1.1e16, 4e16, 1.5e17, 6e17, 2.2e18, 8e18]


def _shuffled(rng, *cols):
    perm = torch.randperm(cols[0].numel(), generator=rng)
    return [c[perm] for c in cols]


@pytest.mark.points(6)
def test_vertex_of_exact_parabola_in_log_n(sub, rng):
    """isoflop_vertex: the vertex of an exact parabola in ln N (M=7 sizes over 2 decades), not in N"""
    n = torch.logspace(6.0, 8.0, 7, dtype=O.F64) * (1 + 0.2 * torch.rand(7, generator=rng, dtype=O.F64))
    n_star = 4.3e6
    loss = 2.4 + 0.07 * (torch.log(n) - math.log(n_star)) ** 2
    got = O.number(sub.call("isoflop.isoflop_vertex", n, loss), "isoflop_vertex")
    expect(
        O.rel_err(got, n_star) < 1e-9,
        f"isoflop_vertex on an exact parabola in ln N (7 points): off by "
        f"{O.rel_err(got, n_star):.3g} relative (the parabola is fitted against ln N)",
    )


@pytest.mark.points(3)
def test_vertex_least_squares(sub, rng):
    """isoflop_vertex is the least-squares parabola's vertex on noisy losses (M=9), np.polyfit oracle"""
    n = torch.logspace(5.5, 7.5, 9, dtype=O.F64)
    loss = 3.0 + 0.05 * (torch.log(n) - 15.0) ** 2 + 0.01 * torch.randn(9, generator=rng, dtype=O.F64)
    got = O.number(sub.call("isoflop.isoflop_vertex", n, loss), "isoflop_vertex")
    ref = O.np_vertex(n, loss)
    expect(
        O.rel_err(got, ref) < 1e-7,
        f"isoflop_vertex on noisy data (9 points): off by {O.rel_err(got, ref):.3g} "
        "relative from the least-squares parabola in ln N",
    )


@pytest.mark.points(2)
def test_vertex_downward_parabola_is_nan(sub):
    """isoflop_vertex returns nan when the fitted parabola opens downwards (M=5)"""
    n = torch.logspace(6, 8, 5, dtype=O.F64)
    got = O.number(
        sub.call("isoflop.isoflop_vertex", n, 3.0 - 0.01 * (torch.log(n) - 16.0) ** 2), "isoflop_vertex"
    )
    expect(math.isnan(got), "isoflop_vertex on a parabola that opens downwards must return nan")


@pytest.mark.points(4)
def test_isoflop_optima(sub, rng):
    """isoflop_optima: one vertex per distinct budget, budgets ascending (7 budgets x 6 sizes, shuffled)"""
    n, d, c, loss = O.isoflop_runs(LAW, BUDGETS, 6, rng, noise=0.004)
    n, c, loss = _shuffled(rng, n, c, loss)
    got = sub.call("isoflop.isoflop_optima", n, c, loss)
    expect(isinstance(got, list | tuple) and len(got) == 2, "isoflop_optima must return (budgets, n_opt)")
    budgets = torch.tensor(BUDGETS, dtype=O.F64)
    expect_close(got[0], budgets, atol=0, rtol=1e-12, what="isoflop_optima budgets (7 distinct, ascending)")
    ref = torch.tensor([O.np_vertex(n[c == b], loss[c == b]) for b in budgets], dtype=O.F64)
    expect_close(got[1], ref, atol=0, rtol=1e-7, what="isoflop_optima n_opt (7 budgets x 6 sizes)")


@pytest.mark.points(5)
def test_isoflop_exponents(sub, rng):
    """isoflop_exponents: a, b of the power laws through the optima (vertex or argmin accepted; 7 x 8 runs)"""
    n, d, c, loss = O.isoflop_runs(LAW, BUDGETS, 8, rng, noise=0.003)
    n, c, loss = _shuffled(rng, n, c, loss)
    got = O.fit_dict(
        sub.call("isoflop.isoflop_exponents", n, c, loss), ["a", "k_n", "b", "k_d"], "isoflop_exponents"
    )
    budgets = torch.tensor(BUDGETS, dtype=O.F64)
    vertex = torch.tensor([O.np_vertex(n[c == b], loss[c == b]) for b in budgets], dtype=O.F64)
    argmin = torch.stack([n[c == b][torch.argmin(loss[c == b])] for b in budgets])
    refs = []
    for n_opt in (vertex, argmin):
        a, k_n = O.np_power_law(budgets, n_opt)
        b, k_d = O.np_power_law(budgets, budgets / (6 * n_opt))
        refs.append(dict(a=a, b=b, k_n=k_n, k_d=k_d))
    ok = [
        all(abs(got[k] - r[k]) < 1e-8 for k in ("a", "b"))
        and O.rel_err(got["k_n"], r["k_n"]) < 1e-6
        and O.rel_err(got["k_d"], r["k_d"]) < 1e-6
        for r in refs
    ]
    expect(
        any(ok),
        f"isoflop_exponents (7 budgets x 8 sizes): a off by {abs(got['a'] - refs[0]['a']):.3g} from the "
        f"vertex-based fit and {abs(got['a'] - refs[1]['a']):.3g} from the argmin-based one; b off by "
        f"{abs(got['b'] - refs[0]['b']):.3g} / {abs(got['b'] - refs[1]['b']):.3g} (a: N_opt, b: D_opt)",
    )
