"""The experiment of section 5: train a small MoE language model with and without the balancing loss, and
record each expert's share of the tokens over training.

The data is synthetic and made here (no download): sequences of 48 tokens from a vocabulary of 64, each
sequence written by one of 12 "topics", a topic being a sparse first-order Markov chain of its own. Predicting
the next token well needs the topic, which the model can read from the context, so experts have a reason to
specialise. The model: token and position embeddings, one causal self-attention layer, one ``MoELayer`` with
8 experts and top-2 routing (your ``moe.py``), a LayerNorm and the output head.

Both runs start from the same weights and see the same batches; they differ only in the loss:
``lm_loss`` versus ``lm_loss + coef * load_balancing_loss`` (your ``losses.py``; 0.02 here). Every
``--every`` steps the script records ``expert_load`` on a fixed held-out batch, the training loss and the
held-out loss, and writes everything to ``balance_run.json``, which the notebook plots.

Run it from the folder that holds your modules (``python train_balance.py``, about 2 to 5 minutes on two CPU
cores with the defaults; ``--steps`` bounds it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))  # your modules sit beside this script
from losses import expert_load, load_balancing_loss  # noqa: E402
from moe import MoELayer  # noqa: E402

VOCAB, SEQ, TOPICS = 64, 48, 12


def make_topics(gen: torch.Generator) -> torch.Tensor:
    """[TOPICS, VOCAB, VOCAB] transition matrices: each token has 3 likely successors per topic."""
    logits = torch.full((TOPICS, VOCAB, VOCAB), -4.0)
    succ = torch.randint(0, VOCAB, (TOPICS, VOCAB, 3), generator=gen)
    logits.scatter_(2, succ, 2.0)
    return torch.softmax(logits, dim=-1)


def sample(topics: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """[n, SEQ] token ids, each row from one random topic."""
    which = torch.randint(0, TOPICS, (n,), generator=gen)
    x = torch.empty(n, SEQ, dtype=torch.long)
    x[:, 0] = torch.randint(0, VOCAB, (n,), generator=gen)
    for t in range(1, SEQ):
        probs = topics[which, x[:, t - 1]]  # [n, VOCAB]
        x[:, t] = torch.multinomial(probs, 1, generator=gen)[:, 0]
    return x


class TinyMoELM(nn.Module):
    def __init__(self, d_model: int, d_ff: int, n_experts: int, top_k: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(VOCAB, d_model)
        self.wpe = nn.Embedding(SEQ, d_model)
        self.ln_1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln_2 = nn.LayerNorm(d_model)
        self.moe = MoELayer(d_model, d_ff, n_experts, top_k)
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, VOCAB, bias=False)

    def forward(self, idx: torch.Tensor) -> tuple[torch.Tensor, dict]:
        B, T = idx.shape
        h = self.wte(idx) + self.wpe(torch.arange(T))
        q, k, v = self.qkv(self.ln_1(h)).split(h.shape[-1], dim=-1)
        h = h + self.proj(F.scaled_dot_product_attention(q, k, v, is_causal=True))
        # MoELayer adds its own residual: moe(ln_2(h)) = ln_2(h) + experts, so add only the difference
        normed = self.ln_2(h)
        out, aux = self.moe(normed)
        h = h + (out - normed)
        return self.head(self.ln_f(h)), aux


def run(balance_coef: float, args, topics, held_out) -> dict:
    torch.manual_seed(args.seed)
    model = TinyMoELM(args.d_model, args.d_ff, args.experts, args.top_k)
    with torch.no_grad():  # a larger router start makes early preferences stronger (and collapse quicker)
        model.moe.gate.weight.mul_(args.router_scale)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(args.seed + 1)  # the same batches in both runs
    record = {"step": [], "load": [], "train_loss": [], "held_out_loss": [], "balance_loss": []}
    for step in range(args.steps + 1):
        batch = sample(topics, args.batch, gen)
        logits, aux = model(batch[:, :-1])
        lm = F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
        bal = load_balancing_loss(aux["router_logits"], args.top_k)
        loss = lm + balance_coef * bal
        if step % args.every == 0:
            with torch.no_grad():
                model.eval()
                ho_logits, ho_aux = model(held_out[:, :-1])
                ho = F.cross_entropy(ho_logits.reshape(-1, VOCAB), held_out[:, 1:].reshape(-1))
                model.train()
            record["step"].append(step)
            record["load"].append(expert_load(ho_aux["expert_index"], args.experts).tolist())
            record["train_loss"].append(float(lm.detach()))
            record["held_out_loss"].append(float(ho))
            record["balance_loss"].append(float(bal.detach()))
        if step == args.steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return record


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--every", type=int, default=20)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--d-model", dest="d_model", type=int, default=32)
    p.add_argument("--d-ff", dest="d_ff", type=int, default=64)
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--top-k", dest="top_k", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--coef", type=float, default=0.02, help="weight of the balancing loss in the second run")
    p.add_argument("--router-scale", dest="router_scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "balance_run.json"))
    args = p.parse_args()
    torch.set_num_threads(1)  # a model this small gains nothing from more threads

    topics = make_topics(torch.Generator().manual_seed(args.seed + 100))
    held_out = sample(topics, 64, torch.Generator().manual_seed(args.seed + 200))
    start = time.time()
    # the output path is the machine's, not part of the experiment
    config = {k: v for k, v in vars(args).items() if k != "out"}
    result = {"config": config, "uniform_share": 1.0 / args.experts, "runs": {}}
    for name, coef in [("without_balancing", 0.0), ("with_balancing", args.coef)]:
        t0 = time.time()
        rec = run(coef, args, topics, held_out)
        rec["seconds"] = round(time.time() - t0, 1)
        result["runs"][name] = rec
        final = rec["load"][-1]
        print(
            f"{name:18s} coef {coef:<5g} held-out loss {rec['held_out_loss'][-1]:.3f}  "
            f"max share {max(final):.3f}  min share {min(final):.3f}  ({rec['seconds']} s)"
        )
    result["seconds"] = round(time.time() - start, 1)
    result["entropy_floor"] = math.log(VOCAB)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} in {result['seconds']} s")


if __name__ == "__main__":
    main()
