"""Chinchilla's Approach 1: the minimum-loss envelope of training curves, and power laws fitted in log space.

Every model size contributes one training curve: its loss after C FLOPs, for many C. For a fixed budget C the
best model is the one whose curve is lowest at C. Reading that winner off at many budgets traces the envelope
of all curves, and its model size N_opt(C) and token count D_opt(C) = C / (6 N_opt) follow power laws
N_opt ∝ C^a and D_opt ∝ C^b (Hoffmann et al. 2022, section 3.1; the paper finds a = b = 0.50).

All tensors are float64 on the CPU; lengths are named R (rows of runs) and K (budgets).
"""

import torch
from torch import Tensor


def fit_power_law(x: Tensor, y: Tensor) -> tuple[float, float]:
    """Fit y = k * x^p by least squares on log y = log k + p log x.

    Args:
        x: positive values, [K] (K >= 2, not all equal).
        y: positive values, [K].

    Returns:
        (p, k): the exponent and the coefficient, as Python floats.
    """
    # BEGIN SOLUTION
    lx, ly = torch.log(x), torch.log(y)  # [K]: a power law is a straight line in log-log space
    design = torch.stack([lx, torch.ones_like(lx)], dim=1)  # [K, 2]
    sol = torch.linalg.lstsq(design, ly[:, None]).solution[:, 0]  # [2]: slope, intercept
    return float(sol[0]), float(torch.exp(sol[1]))
    # END SOLUTION


def curve_loss_at(flops: Tensor, loss: Tensor, budgets: Tensor) -> Tensor:
    """One training curve read at the given budgets, interpolated linearly in log C.

    Args:
        flops: the curve's FLOP counts, [P], strictly increasing.
        loss: the curve's losses at those FLOPs, [P].
        budgets: budgets to read the curve at, [K].

    Returns:
        [K]: the loss at each budget; ``inf`` where the budget lies outside [flops[0], flops[-1]] (a curve
        that did not reach a budget, or started after it, does not compete there). A budget equal to an
        evaluated point returns that point's loss exactly.
    """
    # BEGIN SOLUTION
    lf, lb = torch.log(flops), torch.log(budgets)
    hi = torch.searchsorted(lf, lb).clamp(1, len(lf) - 1)  # [K]: index of the right neighbour
    lo = hi - 1
    w = (lb - lf[lo]) / (lf[hi] - lf[lo])  # [K]: 0 at the left point, 1 at the right one
    out = loss[lo] + w * (loss[hi] - loss[lo])
    inside = (budgets >= flops[0]) & (budgets <= flops[-1])
    return torch.where(inside, out, torch.full_like(out, float("inf")))
    # END SOLUTION


def loss_envelope(n_params: Tensor, flops: Tensor, loss: Tensor, budgets: Tensor) -> tuple[Tensor, Tensor]:
    """The minimum over models of the loss at each FLOP budget, and which model size achieves it.

    Args:
        n_params: model size of each row, [R]; rows with the same value form one training curve.
        flops: FLOPs spent when the row's loss was measured, [R] (any order).
        loss: the measured loss, [R].
        budgets: the FLOP budgets, [K].

    Returns:
        (best_loss, n_opt), both [K]: for each budget, the lowest loss any curve reaches at that budget (each
        curve read with :func:`curve_loss_at`) and the model size of that curve. Budgets no curve covers get
        ``inf`` and ``nan``. Ties go to the smaller model.
    """
    # BEGIN SOLUTION
    sizes = torch.unique(n_params)  # [M], ascending: ties in argmin go to the smaller model
    curves = []
    for n in sizes:
        rows = n_params == n
        order = torch.argsort(flops[rows])
        curves.append(curve_loss_at(flops[rows][order], loss[rows][order], budgets))  # [K]
    table = torch.stack(curves)  # [M, K]: every model read at every budget
    best_loss, which = table.min(dim=0)  # [K]: the envelope is taken per budget, across models
    n_opt = torch.where(torch.isfinite(best_loss), sizes[which], torch.full_like(best_loss, float("nan")))
    return best_loss, n_opt
    # END SOLUTION


def envelope_exponents(n_params: Tensor, flops: Tensor, loss: Tensor, budgets: Tensor) -> dict[str, float]:
    """Approach 1 end to end: the envelope's N_opt(C) and D_opt(C) = C / (6 N_opt), fitted as power laws.

    Budgets that no curve covers are left out of the fits.

    Returns:
        ``{"a": ..., "k_n": ..., "b": ..., "k_d": ...}`` with N_opt = k_n * C^a and D_opt = k_d * C^b.
    """
    # BEGIN SOLUTION
    _, n_opt = loss_envelope(n_params, flops, loss, budgets)
    ok = torch.isfinite(n_opt)
    c, n = budgets[ok], n_opt[ok]
    a, k_n = fit_power_law(c, n)
    b, k_d = fit_power_law(c, c / (6.0 * n))  # C = 6 N D
    return {"a": a, "k_n": k_n, "b": b, "k_d": k_d}
    # END SOLUTION
