"""Benchmark: the reference's batched L-BFGS over the paper's 4,500 starts against a loop of scipy L-BFGS-B.

Both minimise the same Approach 3 objective (summed Huber, delta = 1e-3, of log-loss residuals written with
log-sum-exp) on Epoch AI's extraction of the Chinchilla data, less its 5 highest-loss points (Epoch's filter),
from the same 4,500 starting points. The scipy side gets the exact gradient (from torch) for each start. One
run of each; it prints both times, their ratio and both optima.

Needs scipy (the kit's ``dev`` extra) and the data at ``../shared/data/chinchilla_epoch_svg_extracted.csv``
relative to the kit's root. Usage:

    python assignments/a2_scaling_laws/bench_fit.py            # the whole grid on both sides
    python assignments/a2_scaling_laws/bench_fit.py --every 10 # every 10th start only (a quick look)
    python assignments/a2_scaling_laws/bench_fit.py --data FILE.csv  # Epoch's CSV from elsewhere
"""

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch

KIT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(KIT / "solutions" / "a2_scaling_laws"))
import parametric  # noqa: E402

DATA = KIT.parent / "shared" / "data" / "chinchilla_epoch_svg_extracted.csv"


def load(path: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, D, loss) of Epoch's 245 points less the 5 highest losses; D = FLOP / (6N)."""
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    n = torch.tensor([float(r["Model Size"]) for r in rows], dtype=torch.float64)
    c = torch.tensor([float(r["Training FLOP"]) for r in rows], dtype=torch.float64)
    loss = torch.tensor([float(r["loss"]) for r in rows], dtype=torch.float64)
    keep = torch.argsort(loss)[:-5]
    return n[keep], c[keep] / (6 * n[keep]), loss[keep]


def scipy_loop(n, d, loss, starts: torch.Tensor) -> tuple[np.ndarray, float]:
    """One scipy.optimize.minimize(L-BFGS-B) per start; the best (theta, objective)."""
    from scipy.optimize import minimize

    ln, ld, ll = torch.log(n), torch.log(d), torch.log(loss)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        f = parametric.huber_objective(t, ln, ld, ll)
        f.backward()
        return float(f.detach()), t.grad.numpy().copy()

    best_x, best_f = None, np.inf
    for s in starts.numpy():
        res = minimize(fun, s, jac=True, method="L-BFGS-B")
        if np.isfinite(res.fun) and res.fun < best_f:
            best_x, best_f = res.x, float(res.fun)
    return best_x, best_f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=int, default=1, help="use every k-th start of the grid")
    parser.add_argument("--data", type=Path, default=DATA, help="Epoch's CSV (default: shared data)")
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"Epoch's Chinchilla data is not at {args.data}: see the handout for where it is published")
    n, d, loss = load(args.data)
    starts = parametric.init_grid()[:: args.every]
    print(f"{len(loss)} runs, {len(starts)} starts, torch threads {torch.get_num_threads()}")

    t0 = time.perf_counter()
    fit = parametric.fit_parametric(n, d, loss, inits=starts)
    t_ref = time.perf_counter() - t0
    print(
        f"reference batched L-BFGS: {t_ref:8.2f} s  objective {fit['objective']:.12g}  "
        f"alpha {fit['alpha']:.5f} beta {fit['beta']:.5f} E {fit['E']:.5f} A {fit['A']:.2f} B {fit['B']:.2f}"
    )

    t0 = time.perf_counter()
    x, f = scipy_loop(n, d, loss, starts)
    t_sp = time.perf_counter() - t0
    E, A, B = np.exp(x[2]), np.exp(x[0]), np.exp(x[1])
    print(
        f"scipy L-BFGS-B loop:      {t_sp:8.2f} s  objective {f:.12g}  "
        f"alpha {x[3]:.5f} beta {x[4]:.5f} E {E:.5f} A {A:.2f} B {B:.2f}"
    )
    print(
        f"speed-up {t_sp / t_ref:.1f}x; best objectives differ by {fit['objective'] - f:.3g} "
        f"({(fit['objective'] - f) / f:.3g} relative)"
    )


if __name__ == "__main__":
    main()
