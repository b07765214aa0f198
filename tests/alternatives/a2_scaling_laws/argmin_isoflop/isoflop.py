"""Alternative: Approach 2 with the exponents from the argmin of the sampled runs and the vertex from the
normal equations."""

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
    x = torch.log(n_params)  # [M]
    V = torch.stack([x**2, x, torch.ones_like(x)], dim=1)
    p2, p1, _ = torch.linalg.solve(V.T @ V, V.T @ loss).tolist()  # normal equations
    if p2 <= 0:
        return float("nan")
    return float(torch.exp(torch.tensor(-p1 / (2 * p2), dtype=torch.float64)))


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
    budgets = torch.unique(budget)  # [K], ascending
    n_opt = torch.tensor(
        [isoflop_vertex(n_params[budget == c], loss[budget == c]) for c in budgets], dtype=torch.float64
    )
    return budgets, n_opt


def isoflop_exponents(n_params: Tensor, budget: Tensor, loss: Tensor) -> dict[str, float]:
    """Approach 2 end to end: power laws N_opt = k_n C^a and D_opt = k_d C^b through the profiles' optima.

    D_opt = C / (6 N_opt). Profiles without a vertex (``nan``) are left out of the fits.

    Returns:
        ``{"a": ..., "k_n": ..., "b": ..., "k_d": ...}``.
    """
    c = torch.unique(budget)
    n = torch.stack([n_params[budget == b][torch.argmin(loss[budget == b])] for b in c])  # the best run
    a, k_n = fit_power_law(c, n)
    b, k_d = fit_power_law(c, c / (6.0 * n))
    return {"a": a, "k_n": k_n, "b": b, "k_d": k_d}
