"""Train the two small models this assignment ships in ``models/`` (you do not need to run this).

    python train_models.py --model icl      # in-context learning of affine maps mod 11
    python train_models.py --model arith    # sums with and without a worked chain

Both are TinyLMs (``tinylm.py``) trained from scratch with AdamW on freshly generated text, the loss taken on
the answer characters only. Training is budgeted by steps, not by time: on these tasks learning switches on
abruptly (the loss sits on a plateau and then drops within a few hundred steps), so a run cut early by a clock
can end just before the effect appears. The script evaluates on held-out problems every ``--eval-every``
steps, prints the numbers, saves the checkpoint and writes the training log beside it (``<model>.log.json``).

In-context learning needs one trick (Chan et al., 2022, "Data distributional properties drive emergent
in-context learning"): half of the training sequences are "bursty", their x values drawn from only 2 to 6
letters, so the same x comes back within a sequence and copying its earlier answer pays off early in training.
"""

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
for cand in (HERE, HERE.parent.parent / "solutions" / "a6_prompting"):  # the workspace, or the kit checkout
    if (cand / "tinylm.py").exists():
        sys.path.insert(0, str(cand))
        break

import tasks  # noqa: E402
from tinylm import TinyConfig, TinyLM, TinyLMBackend, encode, save_model  # noqa: E402

# name -> (config, batch size, learning rate, weight decay, steps)
SETUPS = {
    "icl": (TinyConfig(d_model=128, n_layers=2, n_heads=4, max_len=64), 128, 3e-3, 0.0, 2300),
    "arith": (TinyConfig(d_model=128, n_layers=4, n_heads=4, max_len=128), 128, 2e-3, 0.0, 2500),
}
# stop early once the effect is clearly there (held-out greedy accuracy, at an evaluation after min_steps)
DONE = {
    "icl": lambda step, acc: step >= 1000 and acc["k8"] >= 0.55,
    "arith": lambda step, acc: step >= 600 and acc["cot"] >= 0.90,
}
# name -> (pairs per training sequence, fraction of bursty sequences)
ICL_DATA = {"icl": (16, 0.5)}


def icl_sequence(rng: random.Random, pairs: int = 16, bursty: float = 0.5) -> tuple[str, list[int]]:
    """``pairs`` pairs "xy," of one training rule; the loss positions are the y letters."""
    while True:
        a, b = rng.randrange(1, tasks.P), rng.randrange(tasks.P)
        if not tasks.rule_is_heldout(a, b):
            break
    if rng.random() < bursty:  # bursty: few distinct x values, so repeats within the sequence are common
        support = rng.sample(range(tasks.P), rng.randint(2, 6))
        xs = [rng.choice(support) for _ in range(pairs)]
    else:
        xs = [rng.randrange(tasks.P) for _ in range(pairs)]
    text = "".join(e.input + e.target + "," for e in (tasks.affine_example(a, b, x) for x in xs))
    return text, [3 * i + 1 for i in range(pairs)]


def arith_sequence(rng: random.Random, cot: bool) -> tuple[str, list[int]]:
    """One training sum, direct or worked; the loss positions are the characters after the prompt."""
    while True:
        q = tasks.random_sum(rng)
        if not tasks.sum_is_heldout(q):
            break
    prompt = f"Q: {q}\nA:"
    if cot:
        prompt += " " + tasks.COT_TRIGGER
        answer = tasks.cot_completion(q) + "\n"
    else:
        answer = f" {sum(int(t) for t in q.split('+'))}\n"
    return prompt + answer, list(range(len(prompt), len(prompt) + len(answer)))


def batch_loss(model: TinyLM, seqs: list[tuple[str, list[int]]], reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy over the loss positions (their mean, or their sum with ``reduction="sum"``); position t
    is predicted from characters < t."""
    T = max(len(s) for s, _ in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    tgt = torch.full((len(seqs), T), -100, dtype=torch.long)  # -100: ignored by cross_entropy
    for b, (s, pos) in enumerate(seqs):
        e = torch.tensor(encode(s))
        ids[b, : len(e)] = e
        p = torch.tensor(pos)
        tgt[b, p - 1] = e[p]  # logits at t - 1 predict the character at t
    logits, _ = model(ids[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, :-1].reshape(-1), reduction=reduction)


@torch.no_grad()
def evaluate(name: str, model: TinyLM, n: int) -> dict:
    """Greedy accuracy on held-out problems (quick numbers for the log; the model card uses the harness)."""
    lm = TinyLMBackend(model)
    if name in ICL_DATA:
        out = {}
        for k in (0, 8):
            probs = tasks.make_icl_problems(n, seed=1000 + k)
            prompts = ["".join(e.input + e.target + "," for e in p.pool[:k]) + p.query.input for p in probs]
            got = lm.generate(prompts, max_new_tokens=1, stop=None)
            out[f"k{k}"] = sum(g == p.query.target for g, p in zip(got, probs, strict=True)) / n
        model.train()
        return out
    probs = tasks.make_sum_problems(n, seed=2000)
    direct = lm.generate([f"Q: {p.input}\nA:" for p in probs], max_new_tokens=6)
    cot = lm.generate([f"Q: {p.input}\nA: {tasks.COT_TRIGGER}" for p in probs], max_new_tokens=64)
    model.train()
    return {
        "direct": sum(d.strip() == p.target for d, p in zip(direct, probs, strict=True)) / n,
        "cot": sum(c.endswith(f"The answer is {p.target}.") for c, p in zip(cot, probs, strict=True)) / n,
    }


def train(
    name: str,
    steps: int | None,
    out_dir: Path,
    seed: int,
    eval_every: int,
    n_eval: int,
    early_stop: bool,
    init: Path | None = None,
    batch: int | None = None,
    lr: float | None = None,
) -> None:
    cfg, default_batch, default_lr, wd, default_steps = SETUPS[name]
    steps, batch, lr = steps or default_steps, batch or default_batch, lr or default_lr
    torch.manual_seed(seed)
    rng = random.Random(seed)
    init_steps = 0
    if init is not None:  # continue from a checkpoint: its architecture and weights, a fresh optimizer
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(str(init), framework="pt") as f:
            cfg = TinyConfig(**json.loads(f.metadata()["config"]))
            init_steps = json.loads(f.metadata()["meta"]).get("steps", 0)
    model = TinyLM(cfg)
    if init is not None:
        model.load_state_dict(load_file(str(init)))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=wd)
    warmup = 100
    log = {"name": name, "config": vars(cfg), "batch": batch, "lr": lr, "weight_decay": wd, "n_eval": n_eval}
    log.update(init_steps=init_steps, evals=[])  # init_steps: steps of the checkpoint this run started from
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {n_params} parameters, {steps} steps", flush=True)
    t0 = time.time()
    for step in range(1, steps + 1):
        # linear warmup, then cosine decay to a tenth of the peak
        frac = (step - warmup) / max(1, steps - warmup)
        scale = step / warmup if step <= warmup else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr * scale
        if name in ICL_DATA:
            loss = batch_loss(model, [icl_sequence(rng, *ICL_DATA[name]) for _ in range(batch)])
        else:  # two half batches padded separately (direct answers are much shorter than chains), one mean
            # over all their answer characters: every character weighs the same, so the few characters of a
            # direct answer do not outweigh a whole chain
            halves = [[arith_sequence(rng, cot) for _ in range(batch // 2)] for cot in (False, True)]
            n_chars = sum(len(pos) for half in halves for _, pos in half)
            loss = sum(batch_loss(model, half, reduction="sum") for half in halves) / n_chars
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0:
            print(f"{name} step {step} loss {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
        if step % eval_every == 0 or step == steps:
            acc = evaluate(name, model, n_eval)
            entry = {"step": step, "seconds": round(time.time() - t0), "loss": round(loss.item(), 4), **acc}
            log["evals"].append(entry)
            print(f"{name} eval {entry}", flush=True)
            log.update(steps=step, seconds=round(time.time() - t0), parameters=n_params)
            save_model(model, out_dir / f"{name}.safetensors", {"steps": init_steps + step, "seed": seed})
            (out_dir / f"{name}.log.json").write_text(json.dumps(log, indent=1) + "\n")
            if early_stop and DONE[name](step, acc):
                print(f"{name}: effect reached at step {step}, stopping", flush=True)
                break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(SETUPS), required=True)
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the shipped budget)")
    ap.add_argument("--out", type=Path, default=HERE / "models")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--n-eval", type=int, default=200)
    ap.add_argument("--init", type=Path, default=None, help="continue from this checkpoint (its config too)")
    ap.add_argument("--batch", type=int, default=None, help="sequences per step (default: the setup's)")
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the setup's)")
    ap.add_argument(
        "--no-early-stop", action="store_true", help="run all steps even once the effect is there"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    train(
        args.model,
        args.steps,
        args.out,
        args.seed,
        args.eval_every,
        args.n_eval,
        not args.no_early_stop,
        args.init,
        args.batch,
        args.lr,
    )


if __name__ == "__main__":
    main()
