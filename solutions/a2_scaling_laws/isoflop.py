"""Chinchilla's Approach 2: IsoFLOP profiles.

At one fixed compute budget C, models of different sizes N trained on D = C / (6N) tokens trace a valley: too
small a model underfits, too large a one sees too few tokens. Chinchilla fits a parabola to the loss against
log N at each budget, takes its vertex as N_opt(C), and fits power laws through the vertices (Hoffmann et al.
2022, section 3.2; the paper finds a = 0.49, b = 0.51). The parabola lives in log N: the valley is symmetric
on a log axis, not on a linear one.

All tensors are float64 on the CPU; R rows of runs, K distinct budgets.
"""

import torch
from envelope import fit_power_law
from torch import Tensor


def isoflop_vertex(n_params: Tensor, loss: Tensor) -> float:
    """The model size at the vertex of the least-squares parabola loss = p2 (ln N)^2 + p1 ln N + p0.

    Args:
        n_params: model sizes of one IsoFLOP profile, [M] (M >= 3, at least 3 distinct sizes).
        loss: their final losses, [M].

    Returns:
        N at the vertex, exp(-p1 / (2 p2)), as a float (the base of the logarithm does not change it). When
        the parabola opens downwards (p2 <= 0) it has no minimum: return ``nan``.
    """
    # BEGIN SOLUTION
    x = torch.log(n_params)  # [M]
    design = torch.stack([x**2, x, torch.ones_like(x)], dim=1)  # [M, 3]
    p2, p1, _ = torch.linalg.lstsq(design, loss[:, None]).solution[:, 0].tolist()
    if p2 <= 0:
        return float("nan")
    return float(torch.exp(torch.tensor(-p1 / (2 * p2), dtype=torch.float64)))
    # END SOLUTION


def isoflop_optima(n_params: Tensor, budget: Tensor, loss: Tensor) -> tuple[Tensor, Tensor]:
    """The vertex of every IsoFLOP profile.

    Args:
        n_params: model size of each run, [R].
        budget: the compute budget each run was trained with, [R]; runs with equal budgets form one profile.
        loss: the final loss of each run, [R].

    Returns:
        (budgets, n_opt), both [K]: the distinct budgets in increasing order and the vertex of each profile
        (:func:`isoflop_vertex`; ``nan`` for a profile whose parabola opens downwards).
    """
    # BEGIN SOLUTION
    budgets = torch.unique(budget)  # [K], ascending
    n_opt = torch.tensor(
        [isoflop_vertex(n_params[budget == c], loss[budget == c]) for c in budgets], dtype=torch.float64
    )
    return budgets, n_opt
    # END SOLUTION


def isoflop_exponents(n_params: Tensor, budget: Tensor, loss: Tensor) -> dict[str, float]:
    """Approach 2 end to end: power laws N_opt = k_n C^a and D_opt = k_d C^b through the profiles' optima.

    D_opt = C / (6 N_opt). Profiles without a vertex (``nan``) are left out of the fits.

    Returns:
        ``{"a": ..., "k_n": ..., "b": ..., "k_d": ...}``.
    """
    # BEGIN SOLUTION
    budgets, n_opt = isoflop_optima(n_params, budget, loss)
    ok = torch.isfinite(n_opt)
    c, n = budgets[ok], n_opt[ok]
    a, k_n = fit_power_law(c, n)
    b, k_d = fit_power_law(c, c / (6.0 * n))
    return {"a": a, "k_n": k_n, "b": b, "k_d": k_d}
    # END SOLUTION
