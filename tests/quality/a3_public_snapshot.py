"""Build the stored expected values of the a3 public tests (``tests/public/a3_attention/a3_snapshot.pt``).

The public tests ship to students, so they carry no oracle code that would answer a task (a GPT-2 forward
pass, the filtering rules): they compare with values computed here, once, by the hidden suite's oracles (a
Hugging Face GPT-2 built offline from a tiny random config, ``F.scaled_dot_product_attention``, the pinned
filtering order). They also spare students the import of ``transformers`` (several seconds) on every check.
``test_a3_quality.py`` rebuilds the snapshot and compares it with the stored file, so the two cannot drift.

    python tests/quality/a3_public_snapshot.py      # rewrites tests/public/a3_attention/a3_snapshot.pt
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "public" / "a3_attention" / "a3_snapshot.pt"
SEED = 20_261_030

GPT_CONFIG = dict(vocab_size=29, block_size=10, d_model=16, n_layers=2, n_heads=2)
BLOCK_CONFIG = dict(d_model=15, n_heads=5, layer_norm_eps=1e-5)
FILTER_CASES = [  # (temperature, top_k, top_p); 0 stands for "no top-k", 1.0 for "no top-p"
    (0.8, 0, 1.0),
    (1.0, 6, 1.0),
    (1.0, 0, None),  # top_p chosen robustly below
    (1.5, 9, None),
    (0.7, 12, None),
]


def oracles():
    """The hidden suite's oracle module, loaded by path (it lives beside the suite, never in a release)."""
    name = "llmkit_suite_a3_oracles"
    if name not in sys.modules:
        path = ROOT / "autograder" / "suites" / "a3_attention" / "_oracles.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def build() -> dict:
    """Every stored value, float32, from one fixed seed."""
    O = oracles()
    rng = torch.Generator().manual_seed(SEED)
    snap: dict = {}

    # MultiHeadAttention: d_model=15, n_heads=3, B=2, T=6
    weights = O.mha_weights(rng, 15)
    x = torch.randn(2, 6, 15, generator=rng)
    mask = torch.tensor([[0, 1, 1, 1, 1, 1], [1, 1, 0, 1, 1, 1]])
    snap["mha"] = {"weights": weights, "x": x, "out": O.mha(x, weights, 3), "mask": mask,
                   "out_masked": O.mha(x, weights, 3, mask)}

    # Block and MLP: a Hugging Face GPT-2 block
    run, state = O.hf_block(rng, **BLOCK_CONFIG)
    x = torch.randn(3, 5, 15, generator=rng)
    snap["block"] = {"weights": state, "x": x, "out": run(x)}
    mlp = {k.removeprefix("mlp."): v for k, v in state.items() if k.startswith("mlp.")}
    x = 2.0 * torch.randn(2, 4, 15, generator=rng)
    h = torch.nn.functional.gelu(torch.nn.functional.linear(x, mlp["fc.weight"], mlp["fc.bias"]),
                                 approximate="tanh")
    snap["mlp"] = {"weights": mlp, "x": x,
                   "out": torch.nn.functional.linear(h, mlp["proj.weight"], mlp["proj.bias"])}

    # GPT: a Hugging Face GPT-2 LM
    hf = O.hf_gpt(rng, **GPT_CONFIG)
    idx = torch.randint(0, 29, (3, 8), generator=rng)
    gpt = {"state_dict": O.kit_state_dict(hf), "idx": idx, "logits": O.hf_logits(hf, idx)}
    new_wte = torch.randn(29, 16, generator=rng)
    with torch.no_grad():
        hf.transformer.wte.weight.copy_(new_wte)
    gpt["new_wte"] = new_wte
    gpt["logits_new_wte"] = O.hf_logits(hf, idx)
    snap["gpt"] = gpt

    # filter_logits: temperature, then top-k, then top-p
    cases = []
    candidates = [0.75, 0.8, 0.7, 0.85, 0.65, 0.9, 0.6]
    logits = 2.0 * torch.randn(3, 29, generator=rng)
    for temperature, top_k, top_p in FILTER_CASES:
        k = top_k or None
        if top_p is None:
            top_p = next(p for p in candidates if O.kept_sets(logits, temperature, k, p) is not None)
        keep = O.kept_sets(logits, temperature, k, top_p if top_p < 1 else None)
        assert keep is not None
        expected = (logits / temperature).masked_fill(~keep, float("-inf"))
        cases.append({"temperature": temperature, "top_k": top_k, "top_p": top_p, "expected": expected})
    snap["filter"] = {"logits": logits, "cases": cases}
    return snap


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # the oracles import the kit's checks
    torch.save(build(), SNAPSHOT)
    print(f"wrote {SNAPSHOT} ({SNAPSHOT.stat().st_size} bytes)")
