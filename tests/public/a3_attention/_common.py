"""Helpers of the a3 public tests: live library oracles and loading their weights into your modules.

The oracles are Hugging Face ``transformers`` modules built offline from tiny random configs (no download):
``GPT2LMHeadModel``, ``GPT2Block``, ``GPT2MLP`` and ``GPT2Attention`` (eager attention, dropouts 0, eval
mode), and the logits processors ``TemperatureLogitsWarper``, ``TopKLogitsWarper`` and ``TopPLogitsWarper``.
Their random weights are converted to the kit's pinned ``state_dict`` names (HF's ``Conv1D`` stores weights
as [in, out], the kit's ``nn.Linear`` as [out, in]) and loaded into your modules. Like every test, the test
files reach your code only through the ``sub`` fixture. The hidden suite builds its GPT-2 oracles with these
same helpers, on other shapes and seeds.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402
from transformers.generation.logits_process import (  # noqa: E402
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.models.gpt2.modeling_gpt2 import GPT2MLP, GPT2Attention, GPT2Block  # noqa: E402
from transformers.pytorch_utils import Conv1D  # noqa: E402

from autograder.checks import expect, expect_not_used  # noqa: E402
from autograder.client import CallFailed  # noqa: E402

transformers.logging.set_verbosity_error()

GPT_CONFIG = dict(vocab_size=29, block_size=10, d_model=18, n_layers=2, n_heads=3)
GPT_TEXT = "V=29, block_size=10, d_model=18, n_layers=2, n_heads=3"
FORBIDDEN_IN_ATTENTION = {  # the handout: no submitted file may use what Problems 2 and 3 are compared with
    "scaled_dot_product_attention",
    "MultiheadAttention",
    "Transformer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
}
_KIT_NAMES = {"h": "blocks", "c_attn": "qkv", "c_proj": "proj", "c_fc": "fc"}  # HF name part -> kit's


LIBRARY_ATTENTION = (  # what the worker watches for during every call of Problems 2 and 3 (fnmatch patterns)
    "*scaled_dot_product*",  # F.scaled_dot_product_attention under any name, torch.ops.aten's variants
    "aten.*scaled_dot_product*",  # the operator itself, however the call reached it
    "*multi_head_attention*",  # F.multi_head_attention_forward, torch._native_multi_head_attention
    "*transformer_encoder_layer*",  # the fused path of nn.TransformerEncoderLayer
    "module:torch.nn.modules.activation.MultiheadAttention",
    "module:torch.nn.modules.transformer.*",
)


def expect_own_attention(sub) -> None:
    """Problems 2 and 3 earn no points when a module of the submission (or its notebook) names the library
    attention it is compared with (read as text, never imported)."""
    for module in [*sub.modules, "_notebook"]:
        where = "your notebook" if module == "_notebook" else f"{module}.py"
        expect_not_used(sub.source(f"{module}.py"), FORBIDDEN_IN_ATTENTION, where=where)


def _exercise_attention(sub) -> None:
    """One small call of causal_attention and of MultiHeadAttention (B=2, T=4, C=6, H=2). Only what they
    call matters here: a failure is left to the tests themselves."""
    x = torch.linspace(-1.0, 1.0, 48).reshape(2, 4, 6)
    try:
        q = x.view(2, 4, 2, 3).transpose(1, 2)
        sub.call("attention.causal_attention", q, q, q)
        sub.new("attention.MultiHeadAttention", 6, 2)(x)
    except CallFailed:
        pass


@contextlib.contextmanager
def own_attention(sub) -> Iterator[None]:
    """Around a test of Problem 2 or 3: the static check above, then every call of the test is made watched
    (``sub.watch``), and the test fails if the library attention ran during any of them, however it was
    reached (a helper in another module, a name built at run time, a module of ``torch.nn``)."""
    expect_own_attention(sub)
    with sub.watch(LIBRARY_ATTENTION) as seen:
        _exercise_attention(sub)  # so that a test which calls no attention itself still sees the rule
        yield
    expect(
        not seen,
        "the library attention ran during this test's calls, which this problem must build itself: "
        + ", ".join(f"{name.removeprefix('module:')} ({n} times)" for name, n in sorted(seen.items())[:4]),
    )


# ---------------------------------------------------------------------------------------------- HF GPT-2


def hf_config(
    *, vocab_size=3, block_size=16, d_model: int, n_layers=1, n_heads: int, layer_norm_eps: float = 1e-5
) -> GPT2Config:
    """A tiny GPT-2 config: every dropout off, eager attention, GELU with the tanh approximation."""
    return GPT2Config(
        vocab_size=vocab_size,
        n_positions=block_size,
        n_embd=d_model,
        n_layer=n_layers,
        n_head=n_heads,
        layer_norm_epsilon=layer_norm_eps,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        scale_attn_weights=True,
        scale_attn_by_inverse_layer_idx=False,
        reorder_and_upcast_attn=False,
        bos_token_id=0,
        eos_token_id=0,
        attn_implementation="eager",
    )


def randomize(module: torch.nn.Module, rng: torch.Generator) -> torch.nn.Module:
    """Draw every parameter from ``rng`` at a scale where activations are of order one (GPT-2's own std 0.02
    would make outputs tiny and hide bugs inside any tolerance); output projections get a gain of 3 so that
    the blocks, not the current token's embedding, dominate the residual stream. Returns the module in eval
    mode."""
    with torch.no_grad():
        for name, p in module.named_parameters():  # a tied matrix is listed once
            noise = torch.randn(p.shape, generator=rng)
            if name.startswith("ln_") or ".ln_" in name:
                p.copy_(1.0 + 0.2 * noise if name.endswith("weight") else 0.2 * noise)
            elif name.endswith("wte.weight"):
                p.copy_(noise)
            elif name.endswith("wpe.weight"):
                p.copy_(0.5 * noise)
            elif name.endswith("c_proj.weight"):  # Conv1D, [in, out]
                p.copy_(3.0 * noise / math.sqrt(p.shape[0]))
            elif name.endswith("weight"):
                p.copy_(noise / math.sqrt(p.shape[0]))
            else:
                p.copy_(0.1 * noise)
    return module.eval()


def kit_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The HF module's weights under the kit's names (``transformer.h.0.attn.c_attn.weight`` ->
    ``blocks.0.attn.qkv.weight``, ...), Conv1D weights transposed to [out, in]."""
    conv1d = {f"{name}.weight" for name, m in module.named_modules() if isinstance(m, Conv1D)}
    state = {}
    for name, value in module.state_dict().items():
        value = value.detach().clone()
        if name in conv1d:
            value = value.t().contiguous()
        parts = name.removeprefix("transformer.").split(".")
        state[".".join(_KIT_NAMES.get(part, part) for part in parts)] = value
    return state


def hf_gpt(rng: torch.Generator, **config) -> GPT2LMHeadModel:
    """A random HF GPT-2 language model (tied embeddings, as GPT-2 is), in eval mode."""
    config = dict(GPT_CONFIG, **config)
    model = randomize(GPT2LMHeadModel(hf_config(**config)), rng)
    assert model.lm_head.weight is model.transformer.wte.weight
    return model


def hf_logits(
    model: GPT2LMHeadModel, idx: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Logits [B, T, V] of the HF model for token ids [B, T]; positions are 0..T-1 whatever the mask (the
    kit's pinned convention)."""
    with torch.no_grad():
        positions = torch.arange(idx.shape[1]).expand(idx.shape[0], -1)
        return model(input_ids=idx, attention_mask=attention_mask, position_ids=positions).logits


def additive_causal_mask(T: int, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The mask HF's eager attention adds to its scores, [1 or B, 1, T, T]: 0 where query i may read key j
    (j <= i and key j real), the lowest float32 elsewhere. (A lone GPT2Attention or GPT2Block is not causal
    by itself: ``GPT2Model`` builds this mask for it.)"""
    keep = torch.ones(T, T, dtype=torch.bool).tril()[None, None]
    if attention_mask is not None:
        keep = keep & attention_mask.bool()[:, None, None, :]
    return torch.zeros(keep.shape).masked_fill(~keep, torch.finfo(torch.float32).min)


def hf_attention(rng: torch.Generator, d_model: int, n_heads: int) -> GPT2Attention:
    return randomize(GPT2Attention(hf_config(d_model=d_model, n_heads=n_heads), layer_idx=0), rng)


def hf_block(rng: torch.Generator, d_model: int, n_heads: int) -> GPT2Block:
    return randomize(GPT2Block(hf_config(d_model=d_model, n_heads=n_heads), layer_idx=0), rng)


def hf_mlp(rng: torch.Generator, d_model: int) -> GPT2MLP:
    return randomize(GPT2MLP(4 * d_model, hf_config(d_model=d_model, n_heads=1)), rng)


def run_hf(module: torch.nn.Module, x: torch.Tensor, attention_mask: torch.Tensor | None = None):
    """A lone HF attention or block on x [B, T, C], causal (and with padded keys removed when a [B, T]
    mask is given); an MLP on x."""
    with torch.no_grad():
        if isinstance(module, GPT2MLP):
            return module(x)
        out = module(x, attention_mask=additive_causal_mask(x.shape[1], attention_mask))
        return out[0] if isinstance(out, tuple) else out


# ---------------------------------------------------------------------------------------------- yours


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


def student_gpt(sub, hf: GPT2LMHeadModel, what: str):
    """Your GPT with the HF model's hyperparameters and weights, in eval mode."""
    c = hf.config
    config = sub.new(
        "model.GPTConfig",
        vocab_size=c.vocab_size,
        block_size=c.n_positions,
        d_model=c.n_embd,
        n_layers=c.n_layer,
        n_heads=c.n_head,
        layer_norm_eps=c.layer_norm_epsilon,
    )
    model = sub.new("model.GPT", config)
    load_weights(model, kit_state_dict(hf), what)
    model.call("eval")
    return model


def student_module(sub, name: str, args: tuple, hf: torch.nn.Module, what: str):
    """Your ``name(*args)`` with the HF module's weights, in eval mode."""
    module = sub.new(name, *args)
    load_weights(module, kit_state_dict(hf), what)
    module.call("eval")
    return module


# ---------------------------------------------------------------------------------------------- sampling


def hf_filter(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None):
    """HF's logits processors in the pinned order: temperature, then top-k, then top-p."""
    no_ids = torch.zeros(logits.shape[0], 0, dtype=torch.long)
    scores = TemperatureLogitsWarper(float(temperature))(no_ids, logits)
    if top_k is not None:
        scores = TopKLogitsWarper(top_k)(no_ids, scores)
    if top_p is not None:
        scores = TopPLogitsWarper(top_p)(no_ids, scores)
    return scores


def random_logits(rng: torch.Generator, B: int, V: int) -> torch.Tensor:
    """Random logits of order one without near-ties (ties at the k-th value are not specified)."""
    while True:
        x = 2.0 * torch.randn(B, V, generator=rng)
        if bool(torch.sort(x, dim=-1).values.diff(dim=-1).min() > 1e-3):
            return x


def _handout_top_p(scores: torch.Tensor, top_p: float, margin: float = 1e-3) -> torch.Tensor | None:
    """The handout's top-p in float64 (keep the smallest set of most probable tokens whose total probability
    is >= top_p): the kept set [B, V], or None when a cumulative probability lies within ``margin`` of top_p
    (float32 rounding could then legitimately flip a token)."""
    probs, order = torch.sort(torch.softmax(scores.double(), dim=-1), dim=-1, descending=True)
    cum = probs.cumsum(dim=-1)
    if bool((cum - top_p).abs().min() < margin):
        return None
    n_keep = (cum < top_p).sum(dim=-1, keepdim=True) + 1
    rank = torch.arange(scores.shape[-1]).expand_as(scores)
    return torch.zeros_like(rank, dtype=torch.bool).scatter(-1, order, rank < n_keep)


def filter_case(rng: torch.Generator, B: int, V: int, temperature: float, top_k: int | None):
    """(logits, top_p, HF's filtered logits) for random logits and a top_p on which the HF processors and the
    handout's definition agree robustly: no cumulative probability within 1e-3 of top_p."""
    for _ in range(50):
        logits = random_logits(rng, B, V)
        before_top_p = hf_filter(logits, temperature, top_k, None)
        for p in (0.7, 0.8, 0.6, 0.75, 0.85, 0.65, 0.9):
            keep = _handout_top_p(before_top_p, p)
            if keep is None:
                continue
            expected = hf_filter(logits, temperature, top_k, p)
            if not torch.equal(torch.isfinite(expected), keep):
                raise RuntimeError("HF's TopPLogitsWarper disagrees with the handout's top-p")  # suite's bug
            return logits, p, expected
    raise RuntimeError("no robust top-p case found")  # the suite's own design error
