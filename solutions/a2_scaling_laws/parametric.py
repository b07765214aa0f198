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
    # BEGIN SOLUTION
    a, b, e, alpha, beta = theta.unsqueeze(-1).unbind(-2)  # each [..., 1]
    terms = torch.stack(
        [a - alpha * log_n, b - beta * log_d, e.expand(*e.shape[:-1], log_n.shape[-1])], dim=-1
    )  # [..., R, 3]
    return torch.logsumexp(terms, dim=-1)  # subtracts the max first: no exp of a large number
    # END SOLUTION


def huber(r: Tensor, delta: float = DELTA) -> Tensor:
    """Element-wise Huber loss: r^2 / 2 where |r| <= delta, delta * (|r| - delta / 2) beyond.

    This is ``torch.nn.functional.huber_loss(r, 0, reduction="none", delta=delta)``; same shape as ``r``.
    """
    # BEGIN SOLUTION
    ar = r.abs()
    return torch.where(ar <= delta, 0.5 * r**2, delta * (ar - 0.5 * delta))
    # END SOLUTION


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
    # BEGIN SOLUTION
    per_run = huber(log_loss_lse(theta, log_n, log_d) - log_l, delta)  # [..., R]
    if weights is not None:
        per_run = per_run * weights
    return per_run.sum(dim=-1)
    # END SOLUTION


def init_grid() -> Tensor:
    """The paper's 4,500 initialisations, float64 [4500, 5] in the order (a, b, e, alpha, beta).

    alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5, ..., 1}; a, b in {0, 5, ..., 25}. Rows are the
    Cartesian product with ``a`` varying slowest and ``beta`` fastest (``itertools.product`` order).
    """
    # BEGIN SOLUTION
    ab = torch.arange(0, 26, 5, dtype=torch.float64)  # 0, 5, ..., 25: 6 values
    e = torch.linspace(-1, 1, 5, dtype=torch.float64)
    exps = torch.linspace(0, 2, 5, dtype=torch.float64)
    return torch.cartesian_prod(ab, ab, e, exps, exps)  # [6*6*5*5*5, 5] = [4500, 5]
    # END SOLUTION


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
    # BEGIN SOLUTION
    # the tensors are small ([S, P] with P = 5): a second intra-op thread costs more in hand-offs than it
    # saves, and stalls badly on a busy machine, so the search runs on one thread
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _lbfgs(f, x0, max_iter, history, gtol, ftol)
    finally:
        torch.set_num_threads(threads)
    # END SOLUTION


def _lbfgs(f, x0: Tensor, max_iter: int, history: int, gtol: float, ftol: float) -> tuple[Tensor, Tensor]:
    """The body of :func:`lbfgs` (same arguments and result)."""
    # BEGIN SOLUTION
    S, P = x0.shape
    c1, c2 = 1e-4, 0.9  # sufficient decrease and curvature constants of the strong Wolfe conditions

    def value_and_grad(x: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
        x = x.detach().requires_grad_(True)
        fx = f(x, rows)
        (g,) = torch.autograd.grad(fx.sum(), x)  # rows are independent, so d(sum)/dx_s = df_s/dx_s
        return fx.detach(), g

    out_x, rows = x0.clone(), torch.arange(S)
    x = x0.clone()
    fx, g = value_and_grad(x, rows)
    out_f = fx.clone()
    # ring buffers per problem; a zero pair (rho = 0) is an empty slot and a no-op in the recursion
    s_hist = torch.zeros(history, S, P, dtype=x.dtype)
    y_hist = torch.zeros(history, S, P, dtype=x.dtype)
    rho = torch.zeros(history, S, dtype=x.dtype)
    gamma = torch.ones(S, dtype=x.dtype)  # per-problem initial inverse-Hessian scale
    first = torch.ones(S, dtype=torch.bool)  # no step taken yet
    live = torch.isfinite(fx) & (g.abs().amax(dim=1) > gtol)  # [S]
    slot = 0
    for _ in range(max_iter):
        # drop the problems that stopped: the batch only carries live ones
        x, g, fx, rows, gamma, first = x[live], g[live], fx[live], rows[live], gamma[live], first[live]
        s_hist, y_hist, rho = s_hist[:, live], y_hist[:, live], rho[:, live]
        m = rows.numel()
        if m == 0:
            break
        # two-loop recursion, per problem: slots newest first, then oldest first
        q = g.clone()
        alphas = []
        for j in range(history):
            k = (slot - 1 - j) % history
            al = rho[k] * (s_hist[k] * q).sum(1)  # [m]
            q -= al[:, None] * y_hist[k]
            alphas.append((k, al))
        d = gamma[:, None] * q
        for k, al in reversed(alphas):
            be = rho[k] * (y_hist[k] * d).sum(1)
            d += s_hist[k] * (al - be)[:, None]
        d = -d
        slope = (g * d).sum(1)  # [m]
        bad = ~(slope < 0)  # not a descent direction: that problem restarts from steepest descent
        if bool(bad.any()):
            d[bad] = -g[bad]
            slope = torch.where(bad, -(g * g).sum(1), slope)
            s_hist[:, bad], y_hist[:, bad], rho[:, bad] = 0.0, 0.0, 0.0
            gamma[bad] = 1.0
        # a problem's first step has length 1 along -g/|g|_1, so a huge gradient cannot throw it away
        t = torch.where(first | bad, (1.0 / g.abs().sum(1).clamp_min(1e-300)).clamp(max=1.0), 1.0)

        # strong Wolfe line search, per problem (Nocedal & Wright, algorithms 3.5 and 3.6): extrapolate until
        # a step brackets an acceptable one, then shrink the bracket [lo, hi] by safeguarded cubic steps.
        # lo is always the best point with sufficient decrease so far (t = 0 at first).
        zero = torch.zeros(m, dtype=x.dtype)
        lo_t, lo_f, lo_dg, lo_g = zero.clone(), fx.clone(), slope.clone(), g.clone()
        hi_t, hi_f, hi_dg = torch.full_like(zero, torch.inf), zero.clone(), zero.clone()
        done = torch.zeros(m, dtype=torch.bool)
        pend = torch.arange(m)  # positions (in the live batch) still searching
        for _ in range(30):
            tp, dp = t[pend], d[pend]
            f_t, g_t = value_and_grad(x[pend] + tp[:, None] * dp, rows[pend])
            dg_t = (g_t * dp).sum(1)
            f0, s0 = fx[pend], slope[pend]
            high = ~torch.isfinite(f_t) | (f_t > f0 + c1 * tp * s0) | (f_t >= lo_f[pend])
            wolfe = ~high & (dg_t.abs() <= -c2 * s0)
            flip = ~high & ~wolfe & (dg_t * (hi_t[pend] - lo_t[pend]) >= 0)  # lo becomes the new hi
            new_hi = high | flip
            hi_t[pend] = torch.where(high, tp, torch.where(flip, lo_t[pend], hi_t[pend]))
            hi_f[pend] = torch.where(high, f_t, torch.where(flip, lo_f[pend], hi_f[pend]))
            hi_dg[pend] = torch.where(high, dg_t, torch.where(flip, lo_dg[pend], hi_dg[pend]))
            better = ~high  # sufficient decrease and lower than lo: the new lo
            lo_t[pend] = torch.where(better, tp, lo_t[pend])
            lo_f[pend] = torch.where(better, f_t, lo_f[pend])
            lo_dg[pend] = torch.where(better, dg_t, lo_dg[pend])
            lo_g[pend] = torch.where(better[:, None], g_t, lo_g[pend])
            done[pend] = wolfe
            # next trial: extrapolate while nothing brackets, else interpolate inside the bracket
            bracketed = torch.isfinite(hi_t[pend]) | new_hi
            t_in = _cubic_step(lo_t[pend], lo_f[pend], lo_dg[pend], hi_t[pend], hi_f[pend], hi_dg[pend])
            t[pend] = torch.where(bracketed, t_in, 4.0 * tp)
            pend = pend[~wolfe & ((hi_t[pend] - lo_t[pend]).abs() > 1e-12 * lo_t[pend].clamp_min(1e-300))]
            if pend.numel() == 0:
                break
        moved = lo_t > 0  # a Wolfe step, or at least the best sufficient-decrease step found
        x_new = x + lo_t[:, None] * d
        g_new = torch.where(moved[:, None], lo_g, g)
        f_new = torch.where(moved, lo_f, fx)
        s_vec, y_vec = x_new - x, g_new - g
        sy, yy = (s_vec * y_vec).sum(1), (y_vec * y_vec).sum(1)
        keep = moved & (sy > 1e-10 * (s_vec * s_vec).sum(1).sqrt() * yy.sqrt())  # curvature condition
        s_hist[slot] = torch.where(keep[:, None], s_vec, 0.0)
        y_hist[slot] = torch.where(keep[:, None], y_vec, 0.0)
        rho[slot] = torch.where(keep, 1.0 / torch.where(keep, sy, 1.0), 0.0)
        gamma = torch.where(keep, sy / torch.where(keep, yy, 1.0), gamma)
        slot = (slot + 1) % history
        small = (fx - f_new) <= ftol * (1.0 + f_new.abs())
        x, g, fx = x_new, g_new, f_new
        first = first & ~moved
        out_x[rows], out_f[rows] = x, fx
        live = moved & ~small & (g.abs().amax(dim=1) > gtol)
    return out_x, out_f
    # END SOLUTION


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
    # BEGIN SOLUTION
    log_n, log_d, log_l = torch.log(n_params), torch.log(tokens), torch.log(loss)
    x0 = init_grid() if inits is None else inits.to(torch.float64)
    x, fx = lbfgs(lambda th, rows: huber_objective(th, log_n, log_d, log_l, delta, weights), x0)
    fx = torch.where(torch.isfinite(fx), fx, torch.full_like(fx, float("inf")))
    a, b, e, alpha, beta = x[int(torch.argmin(fx))].tolist()
    return {
        "E": float(torch.exp(torch.tensor(e))),
        "A": float(torch.exp(torch.tensor(a))),
        "B": float(torch.exp(torch.tensor(b))),
        "alpha": alpha,
        "beta": beta,
        "a": a,
        "b": b,
        "e": e,
        "objective": float(fx.min()),
    }
    # END SOLUTION


def predict_loss(
    n_params: Tensor, tokens: Tensor, E: float, A: float, B: float, alpha: float, beta: float
) -> Tensor:
    """L(N, D) = E + A / N^alpha + B / D^beta, element-wise over broadcastable ``n_params`` and ``tokens``."""
    # BEGIN SOLUTION
    return E + A / n_params**alpha + B / tokens**beta
    # END SOLUTION


def compute_optimal(compute: Tensor, A: float, B: float, alpha: float, beta: float) -> tuple[Tensor, Tensor]:
    """The compute-optimal frontier of the fitted loss under C = 6 N D (Hoffmann et al. 2022, eq. 4).

    N_opt(C) = G (C/6)^(beta/(alpha+beta)) and D_opt(C) = G^-1 (C/6)^(alpha/(alpha+beta)), with
    G = (alpha A / (beta B))^(1/(alpha+beta)). E does not move the frontier.

    Args:
        compute: budgets C in FLOPs, any shape.

    Returns:
        (n_opt, d_opt), each the shape of ``compute``; n_opt * d_opt * 6 == C.
    """
    # BEGIN SOLUTION
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    n_opt = G * (compute / 6.0) ** (beta / (alpha + beta))
    d_opt = (compute / 6.0) ** (alpha / (alpha + beta)) / G
    return n_opt, d_opt
    # END SOLUTION
