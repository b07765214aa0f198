"""Helpers of the a3 public tests: the stored expected values and loading weights into your modules.

``a3_snapshot.pt`` holds random weights, inputs and the outputs the graders' oracles (a Hugging Face GPT-2,
``F.scaled_dot_product_attention``, the pinned filtering order) give for them. The test files load this module
by path; like every test, they reach your code only through the ``sub`` fixture.
"""

from __future__ import annotations

from pathlib import Path

import torch

from autograder.checks import expect, expect_not_used

SNAPSHOT = torch.load(Path(__file__).with_name("a3_snapshot.pt"), weights_only=True)
GPT_CONFIG = dict(vocab_size=29, block_size=10, d_model=16, n_layers=2, n_heads=2)
GPT_TEXT = "V=29, block_size=10, d_model=16, n_layers=2, n_heads=2"
FORBIDDEN_IN_ATTENTION = {  # the handout: attention.py must not call what it is compared with
    "scaled_dot_product_attention",
    "MultiheadAttention",
    "Transformer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
}


def expect_own_attention(sub) -> None:
    """Problems 2 and 3 earn no points when attention.py uses the library attention it is compared with."""
    expect_not_used(sub.source("attention.py"), FORBIDDEN_IN_ATTENTION, where="attention.py")
    expect_not_used(sub.source("_notebook.py"), FORBIDDEN_IN_ATTENTION, where="your notebook")


def load_weights(module, state: dict[str, torch.Tensor], what: str) -> None:
    """``module.load_state_dict(state, strict=False)``; every given weight must find its pinned parameter."""
    result = module.call("load_state_dict", state, strict=False)
    ok = isinstance(result, list) and len(result) == 2 and all(isinstance(r, list) for r in result)
    expect(ok, f"{what}: load_state_dict did not return (missing_keys, unexpected_keys)")
    unexpected = sorted(str(k) for k in result[1])
    expect(
        not unexpected,
        f"{what}: these weights found no parameter of that name in your module: "
        f"{unexpected[:6]}; parameter names are pinned in the handout",
    )


def student_gpt(sub, block_size: int | None = None):
    """Your GPT with the stored GPT-2 weights, in eval mode."""
    config = dict(GPT_CONFIG)
    state = dict(SNAPSHOT["gpt"]["state_dict"])
    if block_size is not None:
        config["block_size"] = block_size
        state["wpe.weight"] = state["wpe.weight"][:block_size]
    model = sub.call("model.GPT", sub.call("model.GPTConfig", **config))
    load_weights(model, state, f"GPT({GPT_TEXT})")
    model.call("eval")
    return model
