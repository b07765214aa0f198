"""Helpers of the a2 public tests (and of the hidden suite): synthetic runs from a known law, and oracles.

- Synthetic data: training curves and IsoFLOP runs drawn from L(N, D) = E + A / N^alpha + B / D^beta with
  known coefficients, optional multiplicative log-normal noise and a few outliers, from the test's generator.
- Oracles: numpy (``np.polyfit`` for lines and parabolas, ``np.interp`` for curves), torch
  (``torch.nn.functional.huber_loss``, ``torch.logsumexp``, ``torch.quantile``) and, for Approach 3, a fit
  with ``torch.optim.LBFGS`` (strong Wolfe line search) run start by start in float64 on the trusted side.
- Published coefficients (Hoffmann et al. 2022 and Epoch AI's 2024 refit), from the kit's facts sheet.

Like every test, the test files reach your code only through the ``sub`` fixture.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.checks import GradeFailure

F64 = torch.float64

# Hoffmann et al. 2022, the unrounded TeX values of eq. 10 (a, b, e, alpha, beta) and Epoch AI's refit
# (Besiroglu et al. 2024, arXiv:2404.10102), as E, A, B, alpha, beta.
PAPER_THETA = (6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083)
PAPER = dict(
    E=math.exp(0.5267228), A=math.exp(6.0073404), B=math.exp(6.0179186), alpha=0.33917084, beta=0.2849083
)
ROUNDED = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
EPOCH = dict(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


def theta_of(law: dict) -> torch.Tensor:
    """(a, b, e, alpha, beta) of a law given as E, A, B, alpha, beta; float64 [5]."""
    return torch.tensor(
        [math.log(law["A"]), math.log(law["B"]), math.log(law["E"]), law["alpha"], law["beta"]], dtype=F64
    )


def law_loss(n, d, law: dict):
    """E + A / N^alpha + B / D^beta (tensors or floats)."""
    return law["E"] + law["A"] / n ** law["alpha"] + law["B"] / d ** law["beta"]


def frontier(c, law: dict):
    """N_opt, D_opt of eq. 4 under C = 6 N D."""
    al, be = law["alpha"], law["beta"]
    G = (al * law["A"] / (be * law["B"])) ** (1.0 / (al + be))
    return G * (c / 6.0) ** (be / (al + be)), (c / 6.0) ** (al / (al + be)) / G


# ------------------------------------------------------------------------------------------ synthetic data


def isoflop_runs(
    law: dict,
    budgets: list[float],
    sizes_per_budget: int,
    rng: torch.Generator,
    noise: float = 0.0,
    spread: float = 3.0,
    jitter: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """IsoFLOP runs: at each budget, model sizes log-spaced over [N_opt / spread, N_opt * spread] (jittered).

    Returns (n_params, tokens, budget, loss), each float64 [len(budgets) * sizes_per_budget], D = C / (6N),
    loss multiplied by exp(noise * standard normal).
    """
    ns, cs = [], []
    for c in budgets:
        n_opt, _ = frontier(c, law)
        u = torch.linspace(-1.0, 1.0, sizes_per_budget, dtype=F64)
        if jitter:
            u = u + 0.15 * (torch.rand(sizes_per_budget, generator=rng, dtype=F64) - 0.5)
        ns.append(n_opt * spread**u)
        cs.append(torch.full((sizes_per_budget,), c, dtype=F64))
    n, c = torch.cat(ns), torch.cat(cs)
    d = c / (6.0 * n)
    loss = law_loss(n, d, law) * torch.exp(noise * torch.randn(n.shape, generator=rng, dtype=F64))
    return n, d, c, loss


def training_curves(
    law: dict, sizes: list[float], flops: torch.Tensor, rng: torch.Generator, noise: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Idealised training curves: model N after C FLOPs has loss L(N, C / (6N)) (times exp(noise * normal)).

    Each model's curve starts at a FLOP count proportional to its size (a bigger model spends more FLOPs on
    its first tokens), so curves cover different ranges. Returns (n_params, flops, loss) as flat float64 rows
    in shuffled order.
    """
    n_rows, c_rows = [], []
    for n in sizes:
        c = flops[flops >= 6.0 * n * 2e3]  # at least 2,000 tokens seen
        n_rows.append(torch.full(c.shape, float(n), dtype=F64))
        c_rows.append(c)
    n, c = torch.cat(n_rows), torch.cat(c_rows)
    loss = law_loss(n, c / (6.0 * n), law) * torch.exp(noise * torch.randn(n.shape, generator=rng, dtype=F64))
    perm = torch.randperm(n.numel(), generator=rng)
    return n[perm], c[perm], loss[perm]


# ------------------------------------------------------------------------------------------------- oracles


def np_power_law(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(p, k) of y = k x^p by ``np.polyfit`` of degree 1 on natural logs."""
    p, logk = np.polyfit(np.log(x.numpy()), np.log(y.numpy()), 1)
    return float(p), float(math.exp(logk))


def np_vertex(n: torch.Tensor, loss: torch.Tensor) -> float:
    """The vertex of ``np.polyfit(ln N, loss, 2)`` (nan when it opens downwards)."""
    p2, p1, _ = np.polyfit(np.log(n.numpy()), loss.numpy(), 2)
    return float(math.exp(-p1 / (2 * p2))) if p2 > 0 else float("nan")


def np_curve_at(flops: torch.Tensor, loss: torch.Tensor, budgets: torch.Tensor) -> torch.Tensor:
    """``np.interp`` in ln C, inf outside the curve's range (curve given sorted)."""
    lf, lb = np.log(flops.numpy()), np.log(budgets.numpy())
    out = np.interp(lb, lf, loss.numpy())
    out[(lb < lf[0] - 1e-12) | (lb > lf[-1] + 1e-12)] = np.inf
    return torch.tensor(out, dtype=F64)


def oracle_envelope(n, c, loss, budgets) -> tuple[torch.Tensor, torch.Tensor]:
    """(best loss, N of the best curve) per budget, from ``np.interp`` curves; ties to the smaller model."""
    sizes = sorted(set(n.tolist()))
    table = []
    for s in sizes:
        rows = n == s
        order = torch.argsort(c[rows])
        table.append(np_curve_at(c[rows][order], loss[rows][order], budgets))
    table = torch.stack(table)
    best, which = table.min(dim=0)
    n_opt = torch.tensor([sizes[int(i)] for i in which], dtype=F64)
    n_opt[~torch.isfinite(best)] = float("nan")
    return best, n_opt


def torch_huber(r: torch.Tensor, delta: float) -> torch.Tensor:
    return F.huber_loss(r, torch.zeros_like(r), reduction="none", delta=delta)


def oracle_objective(theta, n, d, loss, delta=1e-3, weights=None) -> torch.Tensor:
    """Summed Huber of LSE residuals with ``torch.logsumexp`` and ``F.huber_loss``; theta [..., 5]."""
    a, b, e, al, be = (theta[..., i : i + 1] for i in range(5))
    ln, ld = torch.log(n), torch.log(d)
    terms = torch.stack(torch.broadcast_tensors(a - al * ln, b - be * ld, e), dim=-1)
    per = torch_huber(torch.logsumexp(terms, dim=-1) - torch.log(loss), delta)
    if weights is not None:
        per = per * weights
    return per.sum(-1)


def oracle_fit(n, d, loss, starts: torch.Tensor, delta=1e-3, weights=None) -> tuple[torch.Tensor, float]:
    """Best (theta, objective) over ``starts`` [S, 5]: ``torch.optim.LBFGS`` (strong Wolfe), one by one."""
    best, best_f = None, float("inf")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is faster, and far faster on a busy machine
    try:
        for s in starts:
            x = _lbfgs_one(s, n, d, loss, delta, weights)
            f = float(oracle_objective(x, n, d, loss, delta, weights))
            if math.isfinite(f) and f < best_f:
                best, best_f = x, f
    finally:
        torch.set_num_threads(threads)
    return best, best_f


def _lbfgs_one(s, n, d, loss, delta, weights) -> torch.Tensor:
    """One ``torch.optim.LBFGS`` (strong Wolfe) run from start ``s`` [5]; the final point."""
    x = s.clone().to(F64).requires_grad_(True)
    opt = torch.optim.LBFGS(
        [x],
        lr=1,
        max_iter=2000,
        tolerance_grad=1e-12,
        tolerance_change=1e-16,
        line_search_fn="strong_wolfe",
    )

    def closure(x=x, opt=opt):
        opt.zero_grad()
        f = oracle_objective(x, n, d, loss, delta, weights)
        f.backward()
        return f

    opt.step(closure)
    return x.detach().clone()


def number(got, what: str) -> float:
    """A returned Python number (or 0-d tensor) as float, or a clear failure."""
    if isinstance(got, torch.Tensor) and got.dim() == 0:
        return float(got)
    if isinstance(got, int | float) and not isinstance(got, bool):
        return float(got)
    raise GradeFailure(f"{what}: expected a number, got a value of type {type(got).__name__}")


def fit_dict(got, keys, what: str) -> dict[str, float]:
    """A returned dict with the given keys, each a number."""
    if not isinstance(got, dict):
        raise GradeFailure(f"{what}: expected a dict with keys {sorted(keys)}, got {type(got).__name__}")
    missing = [k for k in keys if k not in got]
    if missing:
        raise GradeFailure(f"{what}: the returned dict lacks the keys {missing}")
    return {k: number(got[k], f"{what}[{k!r}]") for k in keys}


def rel_err(got: float, expected: float) -> float:
    return abs(got - expected) / abs(expected) if expected else abs(got)
