"""Alternative: Approach 1 with numpy: np.polyfit for the power law, np.interp for the curves."""

import numpy as np
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
    p, logk = np.polyfit(np.log(x.numpy()), np.log(y.numpy()), 1)
    return float(p), float(np.exp(logk))


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
    out = np.interp(np.log(budgets.numpy()), np.log(flops.numpy()), loss.numpy())
    b = budgets.numpy()
    out[(b < flops[0].item()) | (b > flops[-1].item())] = np.inf
    return torch.from_numpy(out)


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


def envelope_exponents(n_params: Tensor, flops: Tensor, loss: Tensor, budgets: Tensor) -> dict[str, float]:
    """Approach 1 end to end: the envelope's N_opt(C) and D_opt(C) = C / (6 N_opt), fitted as power laws.

    Budgets that no curve covers are left out of the fits.

    Returns:
        ``{"a": ..., "k_n": ..., "b": ..., "k_d": ...}`` with N_opt = k_n * C^a and D_opt = k_d * C^b.
    """
    _, n_opt = loss_envelope(n_params, flops, loss, budgets)
    ok = torch.isfinite(n_opt)
    c, n = budgets[ok], n_opt[ok]
    a, k_n = fit_power_law(c, n)
    b, k_d = fit_power_law(c, c / (6.0 * n))  # C = 6 N D
    return {"a": a, "k_n": k_n, "b": b, "k_d": k_d}
