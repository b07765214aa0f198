"""Using a fitted scaling law: the budget a model size deserves, and how sure the exponents are.

The frontier of :mod:`parametric` answers "given C FLOPs, how big a model and how many tokens?". Read the
other way it answers "given a model of N parameters, how much compute and data should it get?", which is
how the paper's Table 3 (and Table A3 for Approach 3) is laid out. A bootstrap then shows how much the
exponents move when the data are resampled: Chinchilla's Table 2 reports such 10th-90th percentile
intervals, and Epoch AI's replication showed them to be far too narrow.

All tensors are float64 on the CPU.
"""

import torch
from parametric import huber_objective, lbfgs
from torch import Tensor


def budget_for_model(
    n_params: Tensor, A: float, B: float, alpha: float, beta: float
) -> tuple[Tensor, Tensor]:
    """The compute C and the tokens D for which a model of N parameters is compute-optimal.

    Inverts N_opt(C) = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)), with
    C = 6 N D.

    Args:
        n_params: model sizes, any shape.

    Returns:
        (compute, tokens), each the shape of ``n_params``.
    """
    # BEGIN SOLUTION
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    compute = 6.0 * (n_params / G) ** ((alpha + beta) / beta)
    return compute, compute / (6.0 * n_params)
    # END SOLUTION


def tokens_per_parameter(compute: Tensor, A: float, B: float, alpha: float, beta: float) -> Tensor:
    """D_opt / N_opt on the frontier at budget C: G^-2 (C/6)^((alpha-beta)/(alpha+beta)), shaped as C."""
    # BEGIN SOLUTION
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    return (compute / 6.0) ** ((alpha - beta) / (alpha + beta)) / G**2
    # END SOLUTION


def bootstrap_parametric(
    n_params: Tensor, tokens: Tensor, loss: Tensor, indices: Tensor, init: Tensor
) -> Tensor:
    """Refit the Approach 3 law on each resample of the runs, every resample from the same starting point.

    Resample j uses the runs ``indices[j]`` (a run drawn twice counts twice), so it minimises the summed Huber
    objective with weight = the number of times each run was drawn. All resamples are solved at once as
    independent problems with :func:`parametric.lbfgs`.

    Args:
        n_params, tokens, loss: the runs, each [R].
        indices: LongTensor [J, M] of run indices, one resample per row.
        init: the start of every refit, [5] (a, b, e, alpha, beta); usually the full-data fit.

    Returns:
        [J, 5]: the fitted (a, b, e, alpha, beta) of every resample.
    """
    # BEGIN SOLUTION
    J, R = indices.shape[0], n_params.shape[0]
    counts = torch.zeros(J, R, dtype=torch.float64)
    counts.scatter_add_(1, indices, torch.ones(indices.shape, dtype=torch.float64))  # [J, R]
    log_n, log_d, log_l = torch.log(n_params), torch.log(tokens), torch.log(loss)
    x0 = init.to(torch.float64).expand(J, 5).clone()

    def f(th: Tensor, rows: Tensor) -> Tensor:
        return huber_objective(th, log_n, log_d, log_l, weights=counts[rows])

    x, _ = lbfgs(f, x0, max_iter=1000)
    x, _ = lbfgs(f, x, max_iter=1000)  # a restart with fresh histories gets past early stops in flat valleys
    return x
    # END SOLUTION


def exponent_interval(thetas: Tensor, lo: float = 0.1, hi: float = 0.9) -> dict[str, float]:
    """Percentile intervals of the frontier exponents a = beta/(alpha+beta) and b = alpha/(alpha+beta).

    Args:
        thetas: [J, 5] fits (a, b, e, alpha, beta), e.g. from :func:`bootstrap_parametric`.
        lo, hi: the quantiles, ``torch.quantile`` with its default linear interpolation.

    Returns:
        ``{"a_lo", "a_hi", "b_lo", "b_hi"}``.
    """
    # BEGIN SOLUTION
    alpha, beta = thetas[:, 3], thetas[:, 4]
    a = beta / (alpha + beta)  # [J]
    b = alpha / (alpha + beta)
    q = torch.tensor([lo, hi], dtype=torch.float64)
    a_q, b_q = torch.quantile(a, q), torch.quantile(b, q)
    return {"a_lo": float(a_q[0]), "a_hi": float(a_q[1]), "b_lo": float(b_q[0]), "b_hi": float(b_q[1])}
    # END SOLUTION
