"""Alternative: Approach 3 with a hand-written max-subtracted log-sum-exp, F.huber_loss, itertools.product
and a batched L-BFGS written its own way (row-major histories, a strong Wolfe search that extrapolates by 3
and interpolates quadratically)."""

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


def _quadratic_step(lo_t: Tensor, lo_f: Tensor, lo_dg: Tensor, hi_t: Tensor, hi_f: Tensor) -> Tensor:
    """Per problem, the minimiser of the parabola with value lo_f and slope lo_dg at lo_t and value hi_f at
    hi_t, kept at least a tenth of the bracket away from either end; the midpoint where it has no minimum
    inside or hi_f is not finite."""
    h = hi_t - lo_t
    curv = hi_f - lo_f - lo_dg * h  # [m]: h^2 times the parabola's leading coefficient
    t = lo_t - lo_dg * h * h / (2.0 * curv)
    ok = torch.isfinite(t) & torch.isfinite(hi_f) & (curv > 0)
    t = torch.where(ok, t, lo_t + 0.5 * h)
    near, far = lo_t + 0.1 * h, lo_t + 0.9 * h
    return torch.minimum(torch.maximum(t, torch.minimum(near, far)), torch.maximum(near, far))


def lbfgs(
    f,
    x0: Tensor,
    max_iter: int = 1000,
    history: int = 10,
    gtol: float = 1e-10,
    ftol: float = 1e-13,
) -> tuple[Tensor, Tensor]:
    """Minimise S independent problems at once with L-BFGS, one search per problem, vectorised across them.

    Each row of ``x0`` is its own problem with its own history of (step, gradient change) pairs, kept newest
    first in a [S, history, P] tensor, its own initial Hessian scale, its own stopping test and its own line
    search for the strong Wolfe conditions: the trial step grows threefold until it brackets an acceptable
    one, then the bracket shrinks by safeguarded quadratic interpolation. Converged problems leave the batch.

    Args:
        f: ``f(x, rows)`` maps points x [S', P] of the problems numbered ``rows`` (LongTensor [S']) to their
            objectives [S']; output s may depend on row s of x only.
        x0: starting points, [S, P].
        max_iter: iterations at most.
        history: number of (step, gradient change) pairs kept per problem.
        gtol: a problem stops when its largest absolute gradient entry is below this.
        ftol: ... or when a step lowers its objective by less than ftol * (1 + |f|), or when its line search
            finds no lower point.

    Returns:
        (x, fx): the final points [S, P] and objectives [S].
    """
    c1, c2 = 1e-4, 0.9

    def evaluate(x: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
        x = x.detach().requires_grad_(True)
        fx = f(x, rows)
        (g,) = torch.autograd.grad(fx.sum(), x)  # row s of the gradient of the sum is problem s's gradient
        return fx.detach(), g

    S, P = x0.shape
    rows = torch.arange(S)
    x = x0.clone()
    fx, g = evaluate(x, rows)
    best_x, best_f = x.clone(), fx.clone()
    s_mem = torch.zeros(S, history, P, dtype=x.dtype)  # newest pair first; zero pairs are empty and inert
    y_mem = torch.zeros(S, history, P, dtype=x.dtype)
    rho = torch.zeros(S, history, dtype=x.dtype)
    scale = torch.ones(S, dtype=x.dtype)
    fresh = torch.ones(S, dtype=torch.bool)  # no step taken yet
    active = torch.isfinite(fx) & (g.abs().amax(dim=1) > gtol)
    for _ in range(max_iter):
        x, g, fx, rows, scale, fresh = (
            x[active],
            g[active],
            fx[active],
            rows[active],
            scale[active],
            fresh[active],
        )
        s_mem, y_mem, rho = s_mem[active], y_mem[active], rho[active]
        m = rows.numel()
        if m == 0:
            break
        # the two-loop recursion, H_k g for every problem
        q = g.clone()
        coef = torch.zeros(m, history, dtype=x.dtype)
        for j in range(history):
            coef[:, j] = rho[:, j] * (s_mem[:, j] * q).sum(1)
            q = q - coef[:, j, None] * y_mem[:, j]
        r = scale[:, None] * q
        for j in reversed(range(history)):
            beta = rho[:, j] * (y_mem[:, j] * r).sum(1)
            r = r + (coef[:, j] - beta)[:, None] * s_mem[:, j]
        d = -r
        slope = (g * d).sum(1)
        uphill = ~(slope < 0)  # a direction that does not descend: forget the history, go down the gradient
        d = torch.where(uphill[:, None], -g, d)
        slope = torch.where(uphill, -(g * g).sum(1), slope)
        keep_mem = (~uphill).to(x.dtype)
        s_mem, y_mem, rho = (
            s_mem * keep_mem[:, None, None],
            y_mem * keep_mem[:, None, None],
            rho * keep_mem[:, None],
        )
        scale = torch.where(uphill, torch.ones_like(scale), scale)
        # without curvature information the first trial moves a unit of L1 length
        step = torch.where(fresh | uphill, (1.0 / g.abs().sum(1).clamp_min(1e-300)).clamp(max=1.0), 1.0)

        # per-problem strong Wolfe search; lo is the lowest point with sufficient decrease (step 0 at first)
        lo_t, lo_f, lo_dg, lo_g = torch.zeros_like(fx), fx.clone(), slope.clone(), g.clone()
        hi_t, hi_f = torch.full_like(fx, torch.inf), torch.full_like(fx, torch.inf)
        searching = torch.ones(m, dtype=torch.bool)
        for _ in range(40):
            idx = searching.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            t = step[idx]
            f_t, g_t = evaluate(x[idx] + t[:, None] * d[idx], rows[idx])
            dg_t = (g_t * d[idx]).sum(1)
            too_high = ~torch.isfinite(f_t) | (f_t > fx[idx] + c1 * t * slope[idx]) | (f_t >= lo_f[idx])
            flat = ~too_high & (dg_t.abs() <= -c2 * slope[idx])
            # a lower point with the slope pointing at hi (or at infinity): the old lo becomes the far end
            swap = ~too_high & ~flat & (dg_t * (hi_t[idx] - lo_t[idx]) >= 0)
            hi_t[idx] = torch.where(too_high, t, torch.where(swap, lo_t[idx], hi_t[idx]))
            hi_f[idx] = torch.where(too_high, f_t, torch.where(swap, lo_f[idx], hi_f[idx]))
            lower = ~too_high
            lo_t[idx] = torch.where(lower, t, lo_t[idx])
            lo_f[idx] = torch.where(lower, f_t, lo_f[idx])
            lo_dg[idx] = torch.where(lower, dg_t, lo_dg[idx])
            lo_g[idx] = torch.where(lower[:, None], g_t, lo_g[idx])
            nxt = torch.where(
                torch.isfinite(hi_t[idx]),
                _quadratic_step(lo_t[idx], lo_f[idx], lo_dg[idx], hi_t[idx], hi_f[idx]),
                3.0 * t,
            )
            step[idx] = nxt
            width = (hi_t[idx] - lo_t[idx]).abs()
            searching[idx] = ~flat & (width > 1e-12 * lo_t[idx].clamp_min(1e-300))
        moved = lo_t > 0
        x_new = x + lo_t[:, None] * d
        g_new = torch.where(moved[:, None], lo_g, g)
        f_new = torch.where(moved, lo_f, fx)
        s_vec, y_vec = x_new - x, g_new - g
        sy, yy = (s_vec * y_vec).sum(1), (y_vec * y_vec).sum(1)
        usable = moved & (sy > 1e-10 * s_vec.norm(dim=1) * y_vec.norm(dim=1))
        u = usable.to(x.dtype)
        s_mem = torch.cat([(s_vec * u[:, None])[:, None], s_mem[:, :-1]], dim=1)
        y_mem = torch.cat([(y_vec * u[:, None])[:, None], y_mem[:, :-1]], dim=1)
        rho = torch.cat(
            [torch.where(usable, 1.0 / torch.where(usable, sy, 1.0), 0.0)[:, None], rho[:, :-1]], 1
        )
        scale = torch.where(usable, sy / torch.where(usable, yy, 1.0), scale)
        stalled = (fx - f_new) <= ftol * (1.0 + f_new.abs())
        x, g, fx = x_new, g_new, f_new
        fresh = fresh & ~moved
        best_x[rows], best_f[rows] = x, fx
        active = moved & ~stalled & (g.abs().amax(dim=1) > gtol)
    return best_x, best_f


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
