"""Mutants of the a2 reference: realistic student bugs, each a small textual patch of one reference module.

Each entry is ``(id, module, description, old_snippet, new_snippet)``; the old snippet occurs exactly once in
``solutions/a2_scaling_laws/<module>``. ``test_a2_quality.py`` asserts that the hidden suite takes points off
every one of them.
"""

MUTANTS = [
    # ------------------------------------------------------------------------------ envelope.py
    (
        "power_law_linear_space",
        "envelope.py",
        "power law fitted by least squares in linear space (log only for the exponent's start)",
        "    lx, ly = torch.log(x), torch.log(y)  # [K]: a power law is a straight line in log-log space",
        "    lx, ly = torch.log(x), y  # [K]",
    ),
    (
        "power_law_log10_coefficient",
        "envelope.py",
        "coefficient returned as exp of a log10 intercept (mixed log bases)",
        "    lx, ly = torch.log(x), torch.log(y)  # [K]: a power law is a straight line in log-log space",
        "    lx, ly = torch.log10(x), torch.log10(y)  # [K]",
    ),
    (
        "interp_linear_in_c",
        "envelope.py",
        "curves interpolated linearly in C instead of ln C",
        "    lf, lb = torch.log(flops), torch.log(budgets)",
        "    lf, lb = flops, budgets",
    ),
    (
        "curve_extrapolates",
        "envelope.py",
        "a curve that never reached a budget still competes there (clamped extrapolation)",
        "    inside = (budgets >= flops[0]) & (budgets <= flops[-1])",
        "    inside = torch.ones_like(budgets, dtype=torch.bool)",
    ),
    (
        "envelope_per_model",
        "envelope.py",
        "envelope taken per model (each curve's best loss) instead of per FLOP budget",
        "    best_loss, which = table.min(dim=0)  # [K]: the envelope is taken per budget, across models",
        "    best_loss, which = table.min(dim=0)\n"
        "    which = torch.full_like(which, int(table.min(dim=1).values.argmin()))\n"
        "    best_loss = table.gather(0, which[None])[0]",
    ),
    (
        "exponents_swapped",
        "envelope.py",
        "a and b swapped in the returned dict (a is the exponent of N_opt)",
        '    return {"a": a, "k_n": k_n, "b": b, "k_d": k_d}\n    # END SOLUTION\n',
        '    return {"a": b, "k_n": k_n, "b": a, "k_d": k_d}\n    # END SOLUTION\n',
    ),
    (
        "d_opt_without_6",
        "envelope.py",
        "D_opt = C / N_opt (the 6 of C = 6ND forgotten)",
        "    b, k_d = fit_power_law(c, c / (6.0 * n))  # C = 6 N D",
        "    b, k_d = fit_power_law(c, c / n)",
    ),
    # ------------------------------------------------------------------------------- isoflop.py
    (
        "parabola_in_n",
        "isoflop.py",
        "the IsoFLOP parabola fitted against N instead of ln N",
        "    x = torch.log(n_params)  # [M]",
        "    x = n_params  # [M]",
    ),
    (
        "vertex_sign",
        "isoflop.py",
        "vertex at +p1 / (2 p2)",
        "torch.tensor(-p1 / (2 * p2), dtype=torch.float64)",
        "torch.tensor(p1 / (2 * p2), dtype=torch.float64)",
    ),
    (
        "budgets_unsorted_mismatch",
        "isoflop.py",
        "budgets returned in descending order while the optima are ascending",
        "    return budgets, n_opt\n",
        "    return budgets.flip(0), n_opt\n",
    ),
    # ---------------------------------------------------------------------------- parametric.py
    (
        "lse_overflows",
        "parametric.py",
        "log-sum-exp written as log(exp + exp + exp), which overflows",
        "    return torch.logsumexp(terms, dim=-1)  # subtracts the max first: no exp of a large number",
        "    return torch.log(torch.exp(terms).sum(dim=-1))",
    ),
    (
        "squared_loss",
        "parametric.py",
        "squared loss instead of Huber",
        "    return torch.where(ar <= delta, 0.5 * r**2, delta * (ar - 0.5 * delta))",
        "    return 0.5 * r**2",
    ),
    (
        "delta_times_1000",
        "parametric.py",
        "Huber delta off by a factor of 1000 (1.0 instead of 1e-3)",
        "DELTA = 1e-3  # the paper's Huber threshold, on residuals of log loss",
        "DELTA = 1.0",
    ),
    (
        "mean_not_sum",
        "parametric.py",
        "mean Huber loss instead of the summed one",
        "    return per_run.sum(dim=-1)",
        "    return per_run.mean(dim=-1)",
    ),
    (
        "residuals_in_linear_space",
        "parametric.py",
        "residuals of the loss itself (L_hat - L) instead of log L_hat - log L",
        "    per_run = huber(log_loss_lse(theta, log_n, log_d) - log_l, delta)  # [..., R]",
        "    per_run = huber(torch.exp(log_loss_lse(theta, log_n, log_d)) - torch.exp(log_l), delta)",
    ),
    (
        "weights_ignored",
        "parametric.py",
        "run weights ignored by the objective (every bootstrap resample is the full data)",
        "    if weights is not None:\n        per_run = per_run * weights\n",
        "",
    ),
    (
        "single_init",
        "parametric.py",
        "fit from one start only (the grid's first point) instead of the whole grid",
        "    x0 = init_grid() if inits is None else inits.to(torch.float64)",
        "    x0 = init_grid()[:1] if inits is None else inits.to(torch.float64)",
    ),
    (
        "grid_wrong_range",
        "parametric.py",
        "a and b started on 0..20 in steps of 4 (not the paper's 0, 5, ..., 25)",
        "    ab = torch.arange(0, 26, 5, dtype=torch.float64)  # 0, 5, ..., 25: 6 values",
        "    ab = torch.arange(0, 21, 4, dtype=torch.float64)",
    ),
    (
        "last_not_best",
        "parametric.py",
        "the last start's result kept instead of the best",
        "    a, b, e, alpha, beta = x[int(torch.argmin(fx))].tolist()",
        "    a, b, e, alpha, beta = x[-1].tolist()",
    ),
    (
        "few_iterations",
        "parametric.py",
        "L-BFGS stopped after 5 iterations",
        "    x, fx = lbfgs(lambda th, rows: huber_objective(th, log_n, log_d, log_l, delta, weights), x0)",
        "    x, fx = lbfgs(lambda th, rows: huber_objective(th, log_n, log_d, log_l, delta, weights), x0,"
        " max_iter=5)",
    ),
    (
        "frontier_without_6",
        "parametric.py",
        "C = 6ND forgotten in the frontier (C used where C/6 belongs)",
        "    n_opt = G * (compute / 6.0) ** (beta / (alpha + beta))\n"
        "    d_opt = (compute / 6.0) ** (alpha / (alpha + beta)) / G",
        "    n_opt = G * compute ** (beta / (alpha + beta))\n"
        "    d_opt = compute ** (alpha / (alpha + beta)) / G",
    ),
    (
        "frontier_exponents_swapped",
        "parametric.py",
        "frontier exponents swapped: N_opt grows as C^(alpha/(alpha+beta))",
        "    n_opt = G * (compute / 6.0) ** (beta / (alpha + beta))\n"
        "    d_opt = (compute / 6.0) ** (alpha / (alpha + beta)) / G",
        "    n_opt = G * (compute / 6.0) ** (alpha / (alpha + beta))\n"
        "    d_opt = (compute / 6.0) ** (beta / (alpha + beta)) / G",
    ),
    (
        "G_inverted",
        "parametric.py",
        "G = (beta B / (alpha A))^(1/(alpha+beta)), the ratio upside down",
        "    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))\n    n_opt",
        "    G = (beta * B / (alpha * A)) ** (1.0 / (alpha + beta))\n    n_opt",
    ),
    # --------------------------------------------------------------------------- predictions.py
    (
        "budget_exponent_inverted",
        "predictions.py",
        "the reverse prediction raises N/G to beta/(alpha+beta) instead of (alpha+beta)/beta",
        "    compute = 6.0 * (n_params / G) ** ((alpha + beta) / beta)",
        "    compute = 6.0 * (n_params / G) ** (beta / (alpha + beta))",
    ),
    (
        "bootstrap_unique_indices",
        "predictions.py",
        "a run drawn twice counts once in the bootstrap (mask instead of counts)",
        "    counts.scatter_add_(1, indices, torch.ones(indices.shape, dtype=torch.float64))  # [J, R]",
        "    counts.scatter_(1, indices, 1.0)",
    ),
    (
        "interval_a_from_alpha",
        "predictions.py",
        "a = alpha/(alpha+beta) in the interval (the exponents of N and D swapped)",
        "    a = beta / (alpha + beta)  # [J]\n    b = alpha / (alpha + beta)",
        "    a = alpha / (alpha + beta)  # [J]\n    b = beta / (alpha + beta)",
    ),
]

# Helpers graded through the fits' results only (the handout says so of `lbfgs`): a search with other step
# rules, constants or stopping tests that reaches the same optimum is correct, so the mutation tool leaves
# their mutants out; the hand-written mutants above that break the search (a shared line search, no history)
# stay.
RESULTS_ONLY = {
    "parametric.py lbfgs": "it only sets the thread count around the search; any count gives the same fit",
    "parametric.py _lbfgs": (
        "the search's step rules, constants and stopping tests are the student's choice; only the optimum it "
        "reaches is graded, through fit_parametric and bootstrap_parametric"
    ),
}

# Survivors of the mutation tool (tests/quality/mutation.py) that do not change behaviour, with the reason.
EQUIVALENT = {
    "predictions.py bootstrap_parametric | x, _ = lbfgs(f, x0, max_iter=1000) | `1000` -> `999`": (
        "every resample of the suite converges in far fewer than 999 iterations"
    ),
    "predictions.py bootstrap_parametric | x0 = init.to(torch.float64).expand(J, 5).clone() "
    "| `init.to(torch.float64)` -> `init`": "init is float64 in every call, as the handout pins",
    "predictions.py bootstrap_parametric | x, _ = lbfgs(f, x, max_iter=1000) "
    "| statement replaced by `pass`": (
        "the restart only polishes a fit that stopped early in a flat valley; on the suite's resamples the "
        "first run already lands within the tolerance of the optimum the oracle finds"
    ),
}
