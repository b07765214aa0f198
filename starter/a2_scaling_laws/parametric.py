"""Chinchilla's Approach 3: the parametric loss L(N, D) = E + A / N^alpha + B / D^beta, and its frontier.

The fit follows Hoffmann et al. 2022, section 3.3 and appendix D.2. With A = exp(a), B = exp(b), E = exp(e),
the log of the predicted loss is a log-sum-exp,

    log L_hat(N, D) = LSE(a - alpha log N, b - beta log D, e),

which stays finite for any parameters. The objective is the SUM over runs of the Huber loss (delta = 1e-3) of
the residuals log L_hat - log L: nearly squared error for small residuals, absolute error for outliers. It has
local minima, so it is minimised with L-BFGS from each point of a grid of 4,500 initialisations, and the best
result is kept.

Parameters are packed as ``theta = (a, b, e, alpha, beta)`` along the last axis, always in that order. All
tensors are float64 on the CPU; S starts (independent problems), R runs.
"""

import torch
from torch import Tensor

DELTA = 1e-3  # the paper's Huber threshold, on residuals of log loss


def log_loss_lse(theta: Tensor, log_n: Tensor, log_d: Tensor) -> Tensor:
    """log L_hat for every parameter vector and run, computed as a log-sum-exp that cannot overflow.

    Args:
        theta: [..., 5], (a, b, e, alpha, beta) along the last axis.
        log_n: natural log of the model sizes, [R].
        log_d: natural log of the token counts, [R].

    Returns:
        [..., R]: log(exp(a - alpha log N) + exp(b - beta log D) + exp(e)).
    """
    raise NotImplementedError("replace this line with your solution")


def huber(r: Tensor, delta: float = DELTA) -> Tensor:
    """Element-wise Huber loss: r^2 / 2 where |r| <= delta, delta * (|r| - delta / 2) beyond.

    This is ``torch.nn.functional.huber_loss(r, 0, reduction="none", delta=delta)``; same shape as ``r``.
    """
    raise NotImplementedError("replace this line with your solution")


def huber_objective(
    theta: Tensor,
    log_n: Tensor,
    log_d: Tensor,
    log_l: Tensor,
    delta: float = DELTA,
    weights: Tensor | None = None,
) -> Tensor:
    """The Approach 3 objective: the summed Huber loss of log-loss residuals, for each parameter vector.

    Args:
        theta: [..., 5], (a, b, e, alpha, beta).
        log_n, log_d, log_l: natural logs of model sizes, token counts and measured losses, each [R].
        delta: the Huber threshold.
        weights: optional [..., R] (broadcastable) non-negative weights per run (a bootstrap resample gives
            each run the number of times it was drawn); None means all ones.

    Returns:
        [...]: sum over runs of weight * huber(log_loss_lse(theta) - log_l). A sum, not a mean.
    """
    raise NotImplementedError("replace this line with your solution")


def init_grid() -> Tensor:
    """The paper's 4,500 initialisations, float64 [4500, 5] in the order (a, b, e, alpha, beta).

    alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5, ..., 1}; a, b in {0, 5, ..., 25}. Rows are the
    Cartesian product with ``a`` varying slowest and ``beta`` fastest (``itertools.product`` order).
    """
    raise NotImplementedError("replace this line with your solution")


def _cubic_step(t1: Tensor, f1: Tensor, g1: Tensor, t2: Tensor, f2: Tensor, g2: Tensor) -> Tensor:
    """Per problem, the minimiser of the cubic through (t1, f1, slope g1) and (t2, f2, slope g2), kept in the
    middle 80% of the bracket; bisection where the cubic has no minimum there or a value is not finite."""
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (t1 - t2)
    disc = d1 * d1 - g1 * g2
    d2 = torch.sign(t2 - t1) * disc.clamp_min(0.0).sqrt()
    t = t2 - (t2 - t1) * (g2 + d2 - d1) / (g2 - g1 + 2.0 * d2)
    lo, hi = torch.minimum(t1, t2), torch.maximum(t1, t2)
    w = hi - lo
    ok = torch.isfinite(t) & (disc >= 0) & torch.isfinite(f2)
    t = torch.where(ok, t, 0.5 * (t1 + t2))
    return torch.minimum(torch.maximum(t, lo + 0.1 * w), hi - 0.1 * w)


def lbfgs(
    f,
    x0: Tensor,
    max_iter: int = 1000,
    history: int = 10,
    gtol: float = 1e-10,
    ftol: float = 1e-13,
) -> tuple[Tensor, Tensor]:
    """Minimise S independent problems at once with L-BFGS, one search per problem, vectorised across them.

    Each row of ``x0`` is its own problem: it has its own gradient history (the last ``history`` steps and
    gradient changes), its own initial Hessian scale, its own strong-Wolfe line search (bracketing, then
    cubic interpolation, with its own step lengths) and its own stopping test. Rows only share the tensor
    operations that carry them; a problem that has stopped leaves the batch, so the work shrinks as problems
    converge.

    Args:
        f: ``f(x, rows)`` maps points x [S', P] of the problems numbered ``rows`` (LongTensor [S']) to their
            objectives [S']; output s may depend on row s of x only.
        x0: starting points, [S, P].
        max_iter: iterations at most.
        history: number of (step, gradient change) pairs kept per problem.
        gtol: a problem stops when its largest absolute gradient entry is below this.
        ftol: ... or when an accepted step lowers its objective by less than ftol * (1 + |f|), or when its
            line search finds no step that lowers it.

    Returns:
        (x, fx): the final points [S, P] and objectives [S].
    """
    raise NotImplementedError("replace this line with your solution")


def _lbfgs(f, x0: Tensor, max_iter: int, history: int, gtol: float, ftol: float) -> tuple[Tensor, Tensor]:
    """The body of :func:`lbfgs` (same arguments and result)."""
    raise NotImplementedError("replace this line with your solution")


def fit_parametric(
    n_params: Tensor,
    tokens: Tensor,
    loss: Tensor,
    inits: Tensor | None = None,
    delta: float = DELTA,
    weights: Tensor | None = None,
) -> dict[str, float]:
    """Fit E + A / N^alpha + B / D^beta to runs by the Approach 3 objective from many starts; keep the best.

    Args:
        n_params, tokens, loss: the runs' model sizes N, token counts D and final losses, each [R].
        inits: starting points [S, 5] in the order (a, b, e, alpha, beta); None means :func:`init_grid`.
        delta: the Huber threshold.
        weights: optional [R] weights per run (see :func:`huber_objective`).

    Returns:
        ``{"E", "A", "B", "alpha", "beta", "a", "b", "e", "objective"}``: the best start's parameters
        (A = exp(a), B = exp(b), E = exp(e)) and its objective value (the summed Huber loss).
    """
    raise NotImplementedError("replace this line with your solution")


def predict_loss(
    n_params: Tensor, tokens: Tensor, E: float, A: float, B: float, alpha: float, beta: float
) -> Tensor:
    """L(N, D) = E + A / N^alpha + B / D^beta, element-wise over broadcastable ``n_params`` and ``tokens``."""
    raise NotImplementedError("replace this line with your solution")


def compute_optimal(compute: Tensor, A: float, B: float, alpha: float, beta: float) -> tuple[Tensor, Tensor]:
    """The compute-optimal frontier of the fitted loss under C = 6 N D (Hoffmann et al. 2022, eq. 4).

    N_opt(C) = G (C/6)^(beta/(alpha+beta)) and D_opt(C) = G^-1 (C/6)^(alpha/(alpha+beta)), with
    G = (alpha A / (beta B))^(1/(alpha+beta)). E does not move the frontier.

    Args:
        compute: budgets C in FLOPs, any shape.

    Returns:
        (n_opt, d_opt), each the shape of ``compute``; n_opt * d_opt * 6 == C.
    """
    raise NotImplementedError("replace this line with your solution")
