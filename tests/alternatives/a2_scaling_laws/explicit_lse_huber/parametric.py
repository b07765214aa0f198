"""Alternative: Approach 3 with a hand-written max-subtracted log-sum-exp, F.huber_loss and
itertools.product."""

import itertools

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
    a, b, e, alpha, beta = theta.unsqueeze(-1).unbind(-2)  # each [..., 1]
    t1, t2 = a - alpha * log_n, b - beta * log_d
    t3 = e.expand_as(t1)
    m = torch.maximum(torch.maximum(t1, t2), t3).detach()
    return m + torch.log(torch.exp(t1 - m) + torch.exp(t2 - m) + torch.exp(t3 - m))


def huber(r: Tensor, delta: float = DELTA) -> Tensor:
    """Element-wise Huber loss: r^2 / 2 where |r| <= delta, delta * (|r| - delta / 2) beyond.

    This is ``torch.nn.functional.huber_loss(r, 0, reduction="none", delta=delta)``; same shape as ``r``.
    """
    return torch.nn.functional.huber_loss(r, torch.zeros_like(r), reduction="none", delta=delta)


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
    per_run = huber(log_loss_lse(theta, log_n, log_d) - log_l, delta)  # [..., R]
    if weights is not None:
        per_run = per_run * weights
    return per_run.sum(dim=-1)


def init_grid() -> Tensor:
    """The paper's 4,500 initialisations, float64 [4500, 5] in the order (a, b, e, alpha, beta).

    alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5, ..., 1}; a, b in {0, 5, ..., 25}. Rows are the
    Cartesian product with ``a`` varying slowest and ``beta`` fastest (``itertools.product`` order).
    """
    ab, e, ex = [0, 5, 10, 15, 20, 25], [-1, -0.5, 0, 0.5, 1], [0, 0.5, 1, 1.5, 2]
    return torch.tensor(list(itertools.product(ab, ab, e, ex, ex)), dtype=torch.float64)


def lbfgs(
    f,
    x0: Tensor,
    max_iter: int = 300,
    history: int = 10,
    gtol: float = 1e-9,
    ftol: float = 1e-13,
) -> tuple[Tensor, Tensor]:
    """Minimise S independent problems at once with L-BFGS, one search per problem, vectorised across them.

    Each row of ``x0`` is its own problem: it has its own gradient history (the last ``history`` steps and
    gradient changes), its own initial Hessian scale, its own backtracking (Armijo) line search with its own
    step length, and its own stopping test. Rows only share the tensor operations that carry them; a problem
    that has stopped leaves the batch, so the work shrinks as problems converge.

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
    S, P = x0.shape

    def value_and_grad(x: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
        x = x.detach().requires_grad_(True)
        fx = f(x, rows)
        (g,) = torch.autograd.grad(fx.sum(), x)  # rows are independent, so d(sum)/dx_s = df_s/dx_s
        return fx.detach(), g

    out_x, rows = x0.clone(), torch.arange(S)
    x = x0.clone()
    fx, g = value_and_grad(x, rows)
    out_f = fx.clone()
    s_hist = torch.zeros(
        history, S, P, dtype=x.dtype
    )  # ring buffers per problem; a zero pair is an empty slot
    y_hist = torch.zeros(history, S, P, dtype=x.dtype)
    rho = torch.zeros(history, S, dtype=x.dtype)
    gamma = torch.ones(S, dtype=x.dtype)  # per-problem initial inverse-Hessian scale
    first = torch.ones(S, dtype=torch.bool)  # no step taken yet
    live = g.abs().amax(dim=1) > gtol  # [S]
    slot = 0
    for _ in range(max_iter):
        # drop the problems that stopped: the batch only carries live ones
        x, g, fx, rows, gamma, first = x[live], g[live], fx[live], rows[live], gamma[live], first[live]
        s_hist, y_hist, rho = s_hist[:, live], y_hist[:, live], rho[:, live]
        if rows.numel() == 0:
            break
        # two-loop recursion, per problem: slots newest first, then oldest first
        q = g.clone()
        alphas = []
        for j in range(history):
            k = (slot - 1 - j) % history
            al = rho[k] * (s_hist[k] * q).sum(1)  # [S']
            q -= al[:, None] * y_hist[k]
            alphas.append((k, al))
        d = gamma[:, None] * q
        for k, al in reversed(alphas):
            be = rho[k] * (y_hist[k] * d).sum(1)
            d += s_hist[k] * (al - be)[:, None]
        d = -d
        slope = (g * d).sum(1)  # [S']
        bad = slope >= 0  # not a descent direction: that problem restarts from steepest descent
        if bool(bad.any()):
            d[bad] = -g[bad]
            slope = torch.where(bad, -(g * g).sum(1), slope)
            s_hist[:, bad], y_hist[:, bad], rho[:, bad] = 0.0, 0.0, 0.0
            gamma[bad] = 1.0
        # a problem's first step has length 1 along -g/|g|_1, so a huge gradient cannot throw it away
        t = torch.where(first | bad, (1.0 / g.abs().sum(1).clamp_min(1e-300)).clamp(max=1.0), 1.0)
        # backtracking: each problem shrinks its own step until its own Armijo condition holds; the new
        # step is the minimum of the quadratic through f(0), f'(0) and f(t), kept within [t/10, t/2]
        pending = torch.arange(rows.numel())  # positions (in the live batch) still searching
        x_new, f_new = x.clone(), fx.clone()
        for _ in range(40):
            tp, dp, f0, sl = t[pending], d[pending], fx[pending], slope[pending]
            trial = x[pending] + tp[:, None] * dp
            with torch.no_grad():
                f_trial = f(trial, rows[pending])
            ok = torch.isfinite(f_trial) & (f_trial <= f0 + 1e-4 * tp * sl)
            x_new[pending[ok]], f_new[pending[ok]] = trial[ok], f_trial[ok]
            curv = torch.where(torch.isfinite(f_trial), f_trial - f0 - sl * tp, torch.inf)
            t_quad = -sl * tp**2 / (2 * curv.clamp_min(1e-300))
            t[pending] = torch.minimum(torch.maximum(t_quad, 0.1 * tp), 0.5 * tp)
            pending = pending[~ok]
            if pending.numel() == 0:
                break
        moved = torch.ones(rows.numel(), dtype=torch.bool)
        moved[pending] = False
        _, g_new = value_and_grad(x_new, rows)
        s_vec, y_vec = x_new - x, g_new - g
        sy, yy = (s_vec * y_vec).sum(1), (y_vec * y_vec).sum(1)
        keep = moved & (sy > 1e-10 * (s_vec * s_vec).sum(1).sqrt() * yy.sqrt())  # curvature condition
        s_hist[slot] = torch.where(keep[:, None], s_vec, 0.0)
        y_hist[slot] = torch.where(keep[:, None], y_vec, 0.0)
        rho[slot] = torch.where(keep, 1.0 / torch.where(keep, sy, 1.0), 0.0)
        gamma = torch.where(keep, sy / torch.where(keep, yy, 1.0), gamma)
        slot = (slot + 1) % history
        small = (fx - f_new) <= ftol * (1.0 + f_new.abs())
        x, g, fx = x_new, torch.where(moved[:, None], g_new, g), f_new
        first = first & ~moved
        out_x[rows], out_f[rows] = x, fx
        live = moved & ~small & (g.abs().amax(dim=1) > gtol)
    return out_x, out_f


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


def predict_loss(
    n_params: Tensor, tokens: Tensor, E: float, A: float, B: float, alpha: float, beta: float
) -> Tensor:
    """L(N, D) = E + A / N^alpha + B / D^beta, element-wise over broadcastable ``n_params`` and ``tokens``."""
    return E + A / n_params**alpha + B / tokens**beta


def compute_optimal(compute: Tensor, A: float, B: float, alpha: float, beta: float) -> tuple[Tensor, Tensor]:
    """The compute-optimal frontier of the fitted loss under C = 6 N D (Hoffmann et al. 2022, eq. 4).

    N_opt(C) = G (C/6)^(beta/(alpha+beta)) and D_opt(C) = G^-1 (C/6)^(alpha/(alpha+beta)), with
    G = (alpha A / (beta B))^(1/(alpha+beta)). E does not move the frontier.

    Args:
        compute: budgets C in FLOPs, any shape.

    Returns:
        (n_opt, d_opt), each the shape of ``compute``; n_opt * d_opt * 6 == C.
    """
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    n_opt = G * (compute / 6.0) ** (beta / (alpha + beta))
    d_opt = (compute / 6.0) ** (alpha / (alpha + beta)) / G
    return n_opt, d_opt
