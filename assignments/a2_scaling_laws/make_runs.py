"""Train a grid of small GPTs on the kit's corpus and write their loss curves to kit_runs.csv.

These are the kit's own scaling runs: real training curves, made on a CPU, that the notebook fits with all
three of Chinchilla's approaches. The model is the a3 reference GPT (``solutions/a3_attention/model.py``) at
character level on ``assignments/a3_attention/corpus.txt`` (90% train, the last 10% held out).

Every model is trained once, with a short linear warm-up then a constant learning rate, until it has spent the
largest compute budget of the grid, C_max = 6 * N * D FLOPs (N = all trainable parameters, tied embeddings
counted once; D = training tokens seen). The held-out loss is measured at log-spaced FLOP points along the
way, so each model contributes a training curve (Approach 1) and, read at a fixed budget, a point of an
IsoFLOP profile (Approach 2). This is cheaper than Chinchilla's one cosine run per (model, budget), and the
handout says so: a constant learning rate makes the early points of every curve slightly pessimistic.

The CSV starts with ``#`` comment lines that record the grid, the hardware and the wall-clock time. Columns:

    model, d_model, n_layers, n_heads, n_params, step, tokens, flops, val_loss

Usage (29 minutes on 2 shared CPU cores, see the CSV header; not run by the tests):

    nice -n 10 python make_runs.py                # writes kit_runs.csv next to this script
    python make_runs.py --quick --out /tmp/r.csv  # a 1-minute smoke run
"""

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
KIT = HERE.parent.parent
sys.path.insert(0, str(KIT / "solutions" / "a3_attention"))  # model.py imports its sibling attention.py
from model import GPT, GPTConfig, count_parameters, next_token_loss  # noqa: E402

# (d_model, n_layers, n_heads): widths and depths chosen so that N spans about 80x
GRID = [(16, 1, 2), (24, 1, 2), (32, 1, 2), (48, 2, 4), (64, 2, 4), (80, 2, 4), (96, 2, 4), (128, 2, 4)]
BLOCK = 64  # context length (characters)
BATCH = 8  # sequences per step: 512 tokens a step
LR = 3e-3
WARMUP = 20
EVAL_WINDOWS = 48  # 3,072 held-out characters per evaluation


def load_corpus() -> tuple[torch.Tensor, torch.Tensor, int]:
    """Character ids of the corpus, split 90/10 into train and held-out tensors, and the vocabulary size."""
    text = (KIT / "assignments" / "a3_attention" / "corpus.txt").read_text(encoding="utf-8")
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text], dtype=torch.long)
    cut = int(0.9 * len(ids))
    return ids[:cut], ids[cut:], len(chars)


@torch.no_grad()
def held_out_loss(model: GPT, val: torch.Tensor) -> float:
    """Mean next-token loss over the first EVAL_WINDOWS non-overlapping windows of the held-out text."""
    model.eval()
    n = min(EVAL_WINDOWS, (len(val) - 1) // BLOCK)
    windows = val[: n * BLOCK].view(n, BLOCK)
    losses = [next_token_loss(model(w), w).item() for w in windows.split(64)]
    model.train()
    return sum(losses) / len(losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "kit_runs.csv")
    parser.add_argument("--cmax", type=float, default=4e11, help="FLOPs every model is trained to")
    parser.add_argument("--max-steps", type=int, default=1500, help="cap on steps: small models stop early")
    parser.add_argument("--points", type=int, default=16, help="log-spaced evaluation points per curve")
    parser.add_argument("--quick", action="store_true", help="three models, C_max = 2e10")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", type=int, default=len(GRID), help="the first this many of GRID")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    grid = GRID[::3] if args.quick else GRID[: args.models]
    cmax = 2e10 if args.quick else args.cmax

    train, val, vocab = load_corpus()
    gen = torch.Generator().manual_seed(0)
    rows: list[str] = []
    done: list[tuple[int, int, int]] = []
    start = time.time()
    for d, n_layers, n_heads in grid:
        torch.manual_seed(0)
        cfg = GPTConfig(vocab_size=vocab, block_size=BLOCK, d_model=d, n_layers=n_layers, n_heads=n_heads)
        model = GPT(cfg)
        n_params = count_parameters(model)
        opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.95), weight_decay=0.1)
        flops_per_step = 6 * n_params * BLOCK * BATCH
        total_steps = min(math.ceil(cmax / flops_per_step), args.max_steps)
        first = max(WARMUP, total_steps // 30)
        marks = sorted(
            {round(first * (total_steps / first) ** (i / (args.points - 1))) for i in range(args.points)}
        )
        t0 = time.time()
        for step in range(1, total_steps + 1):
            for g in opt.param_groups:
                g["lr"] = LR * min(1.0, step / WARMUP)
            starts = torch.randint(0, len(train) - BLOCK, (BATCH,), generator=gen)
            x = torch.stack([train[s : s + BLOCK] for s in starts.tolist()])
            loss = next_token_loss(model(x), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step in marks:
                tokens = step * BLOCK * BATCH
                row = f"d{d}_l{n_layers},{d},{n_layers},{n_heads},{n_params},{step},{tokens},"
                row += f"{6 * n_params * tokens:.6e},{held_out_loss(model, val):.5f}"
                rows.append(row)
        print(f"d={d} L={n_layers} N={n_params} steps={total_steps} {time.time() - t0:.0f}s", flush=True)
        done.append((d, n_layers, n_heads))
        write(
            args, done, vocab, cmax, time.time() - start, rows
        )  # after every model: a stopped run keeps its data


def command_line() -> str:
    """The options this run was started with, less ``--out`` (a path of the machine it ran on)."""
    argv, kept = sys.argv[1:], []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            kept.append(arg)
    return " ".join(kept)


def write(
    args: argparse.Namespace, done: list, vocab: int, cmax: float, elapsed: float, rows: list[str]
) -> None:
    """Write the CSV: comment lines (grid, hardware, time), the column names, one row per evaluation."""
    header = [
        "# The kit's own scaling runs for a2_scaling_laws, written by make_runs.py (see its docstring).",
        f"# model: a3 reference GPT, character level, vocab {vocab}, block {BLOCK}, batch {BATCH},",
        f"# AdamW lr {LR}",
        f"# (constant after {WARMUP} warm-up steps), betas (0.9, 0.95), weight decay 0.1, seed 0.",
        f"# grid (d_model, n_layers, n_heads): {done}; each model trained to C_max = {cmax:.1e} FLOPs",
        f"# or {args.max_steps} steps, whichever comes first (the smallest models stop early).",
        f"# command: python make_runs.py {command_line()}".rstrip(),
        "# flops = 6 * n_params * tokens; val_loss = held-out next-character loss in nats.",
        f"# hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"{args.threads} torch threads, torch {torch.__version__}, Python {platform.python_version()}.",
        f"# wall-clock time: {elapsed / 60:.1f} minutes (run under nice -n 10; 1-minute load average at the"
        f" end {os.getloadavg()[0]:.1f}: the machine was shared, so the time is an upper bound).",
        "model,d_model,n_layers,n_heads,n_params,step,tokens,flops,val_loss",
    ]
    args.out.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(rows)} rows) after {elapsed / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
