"""Trusted-side oracles of the a3 hidden suite: library computations the submission is compared with.

- a Hugging Face ``GPT2LMHeadModel`` built offline from a tiny config (eager attention, no dropout, eval
  mode), with random weights drawn from the test's generator so that activations and logits are of order one,
  and its weights converted to the kit's ``state_dict`` layout (HF ``Conv1D`` weights are [in, out], the kit's
  ``nn.Linear`` weights [out, in]);
- multi-head attention written with ``F.scaled_dot_product_attention`` in the pinned GPT-2 layout;
- the filtering of ``sampling.filter_logits`` written as the handout pins it (temperature, top-k, top-p).

Test files load this module by path (see ``_oracles()`` in each of them); it never imports student code.
"""

from __future__ import annotations

import math
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model  # noqa: E402

from autograder.checks import GradeFailure, expect, expect_not_used, expect_tensor  # noqa: E402

transformers.logging.set_verbosity_error()

_HF_TO_KIT = {  # HF GPT-2 name fragment -> kit name fragment (inside one block)
    "attn.c_attn.": "attn.qkv.",
    "attn.c_proj.": "attn.proj.",
    "mlp.c_fc.": "mlp.fc.",
    "mlp.c_proj.": "mlp.proj.",
}
_CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
FORBIDDEN_IN_ATTENTION = {  # the handout: attention.py must not call what it is compared with
    "scaled_dot_product_attention",
    "MultiheadAttention",
    "Transformer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
}


# ---------------------------------------------------------------------------------------------- HF GPT-2


def hf_config(
    *,
    vocab_size: int,
    block_size: int,
    d_model: int,
    n_layers: int,
    n_heads: int,
    layer_norm_eps: float = 1e-5,
) -> GPT2Config:
    """A tiny GPT-2 config with every dropout off and the eager attention path (the closest to the kit's)."""
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


def randomize(model: torch.nn.Module, rng: torch.Generator) -> None:
    """Overwrite every parameter with draws from ``rng`` at a scale where activations are of order one.

    GPT-2's own initialisation (std 0.02) makes logits tiny, which would hide most bugs inside any tolerance.
    The output projections get a gain of 3 so that the blocks, not the current token's own embedding, dominate
    the residual stream: with tied embeddings a model otherwise mostly predicts its input token again, and
    greedy generations repeat one token, which would make every context look alike.
    """
    with torch.no_grad():
        for name, p in model.named_parameters():  # a tied matrix is listed once
            noise = torch.randn(p.shape, generator=rng)
            if ".ln_" in name or name.startswith(("ln_", "transformer.ln_")):
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


def hf_gpt(rng: torch.Generator, **config: float) -> GPT2LMHeadModel:
    """A random HF GPT-2 LM in eval mode (tied embeddings, as GPT-2 is)."""
    model = GPT2LMHeadModel(hf_config(**config))
    randomize(model, rng)
    model.eval()
    assert model.lm_head.weight is model.transformer.wte.weight
    return model


def kit_name(hf_name: str) -> str:
    """``transformer.h.0.attn.c_attn.weight`` -> ``blocks.0.attn.qkv.weight``, and so on."""
    name = hf_name.removeprefix("transformer.")
    if name.startswith("h."):
        name = "blocks." + name[2:]
    for old, new in _HF_TO_KIT.items():
        name = name.replace(old, new)
    return name


def kit_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The HF model's weights under the kit's names, Conv1D weights transposed to [out, in]."""
    state = {}
    for name, value in model.state_dict().items():
        value = value.detach().clone()
        if name.endswith(_CONV1D):
            value = value.t().contiguous()
        state[kit_name(name)] = value
    return state


def hf_logits(
    model: GPT2LMHeadModel, idx: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Logits [B, T, V]; positions are 0..T-1 whatever the mask (the kit's pinned convention)."""
    with torch.no_grad():
        positions = torch.arange(idx.shape[1]).expand(idx.shape[0], -1)
        return model(input_ids=idx, attention_mask=attention_mask, position_ids=positions).logits


def hf_block(rng: torch.Generator, *, d_model: int, n_heads: int, layer_norm_eps: float = 1e-5):
    """(run, state): ``run(x, attention_mask)`` is one HF GPT-2 block applied to x [B, T, C]; ``state`` holds
    the same weights under the kit's ``Block`` names."""
    model = GPT2Model(
        hf_config(
            vocab_size=3,
            block_size=16,
            d_model=d_model,
            n_layers=1,
            n_heads=n_heads,
            layer_norm_eps=layer_norm_eps,
        )
    )
    randomize(model, rng)
    with torch.no_grad():
        model.wpe.weight.zero_()  # then the block's input is exactly inputs_embeds
    model.eval()
    state = {
        k.removeprefix("blocks.0."): v for k, v in kit_state_dict(model).items() if k.startswith("blocks.0.")
    }

    def run(x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        captured = []
        hook = model.h[0].register_forward_hook(lambda _m, _args, out: captured.append(out))
        try:
            with torch.no_grad():
                model(inputs_embeds=x, attention_mask=attention_mask)
        finally:
            hook.remove()
        out = captured[0]
        return out[0] if isinstance(out, tuple) else out

    return run, state


def student_gpt(sub, hf: GPT2LMHeadModel, what: str):
    """Build the submission's ``GPT`` with the HF model's hyperparameters and weights, in eval mode."""
    c = hf.config
    config = sub.call(
        "model.GPTConfig",
        vocab_size=c.vocab_size,
        block_size=c.n_positions,
        d_model=c.n_embd,
        n_layers=c.n_layer,
        n_heads=c.n_head,
        layer_norm_eps=c.layer_norm_epsilon,
    )
    model = sub.call("model.GPT", config)
    load_weights(model, kit_state_dict(hf), what)
    model.call("eval")
    return model


def load_weights(module, state: dict[str, torch.Tensor], what: str) -> None:
    """``module.load_state_dict(state, strict=False)`` in the worker; every given weight must find its pinned
    parameter. Keys the module has beyond them (a registered mask buffer, say) are left alone."""
    result = module.call("load_state_dict", state, strict=False)
    ok = isinstance(result, list) and len(result) == 2 and all(isinstance(r, list) for r in result)
    expect(ok, f"{what}: load_state_dict did not return (missing_keys, unexpected_keys)")
    unexpected = [str(k) for k in result[1]]
    expect(
        not unexpected,
        f"{what}: these weights found no parameter of that name in your module: "
        f"{sorted(unexpected)[:6]}; parameter names are pinned in the handout",
    )


# ---------------------------------------------------------------------------------------------- attention


def expect_own_attention(sub) -> None:
    """Problems 2 and 3 earn no points when attention.py (or a notebook, which holds every module) uses the
    library attention the suite compares it with. Read as text on the trusted side, never imported."""
    expect_not_used(sub.source("attention.py"), FORBIDDEN_IN_ATTENTION, where="attention.py")
    expect_not_used(sub.source("_notebook.py"), FORBIDDEN_IN_ATTENTION, where="your notebook")


def causal_keep(T: int, attention_mask: torch.Tensor | None = None, extra_dims: int = 1) -> torch.Tensor:
    """Boolean [T, T] (or [B, 1.., T, T] with a [B, T] padding mask): True where query i may read key j."""
    keep = torch.ones(T, T, dtype=torch.bool).tril()
    if attention_mask is not None:
        B = attention_mask.shape[0]
        keep = keep & attention_mask.bool().view(B, *([1] * extra_dims), 1, T)
    return keep


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attention_mask: torch.Tensor | None = None):
    """The library's causal attention, with padded keys removed when a [B, T] mask is given."""
    if attention_mask is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    keep = causal_keep(q.shape[-2], attention_mask, extra_dims=q.dim() - 3)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=keep)


def mha_weights(rng: torch.Generator, C: int) -> dict[str, torch.Tensor]:
    """Random weights for a ``MultiHeadAttention`` of width C, in its pinned names."""
    return {
        "qkv.weight": torch.randn(3 * C, C, generator=rng) / math.sqrt(C),
        "qkv.bias": 0.1 * torch.randn(3 * C, generator=rng),
        "proj.weight": torch.randn(C, C, generator=rng) / math.sqrt(C),
        "proj.bias": 0.1 * torch.randn(C, generator=rng),
    }


def mha(
    x: torch.Tensor, w: dict[str, torch.Tensor], n_heads: int, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """GPT-2 multi-head attention: fused [q | k | v] projection, heads by ``view(B, T, H, hd)``, SDPA, then
    the output projection."""
    B, T, C = x.shape
    hd = C // n_heads
    q, k, v = F.linear(x, w["qkv.weight"], w["qkv.bias"]).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_heads, hd).transpose(1, 2) for t in (q, k, v))
    y = sdpa(q, k, v, attention_mask)
    return F.linear(y.transpose(1, 2).reshape(B, T, C), w["proj.weight"], w["proj.bias"])


def mask_with_holes(rng: torch.Generator, B: int, T: int, first_real: bool = True) -> torch.Tensor:
    """A [B, T] 0/1 mask with padding in the middle and at the ends of rows, never all padding.

    With ``first_real`` every row starts with a real token, so no query of a multi-layer model ever has all
    its keys masked (a fully masked row has no defined softmax and would spread NaN to later layers).
    """
    mask = (torch.rand(B, T, generator=rng) < 0.6).long()
    if first_real:
        mask[:, 0] = 1
    for b in range(B):  # each row: at least one hole before a real token, so the mask matters causally
        hole = 1 + b % max(T - 2, 1)
        mask[b, hole] = 0
        mask[b, -1] = 1
    return mask


# ---------------------------------------------------------------------------------------------- sampling


def kept_sets(
    logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None, margin: float = 1e-3
) -> torch.Tensor | None:
    """Boolean [B, V] of the tokens that temperature, then top-k, then top-p keep (the pinned HF order).

    Decided in float64. Returns None when the answer is fragile: a tie at the k-th value, or a cumulative
    probability within ``margin`` of ``top_p``, where float32 rounding could legitimately flip a token.
    """
    x = logits.double() / temperature
    B, V = x.shape
    keep = torch.ones(B, V, dtype=torch.bool)
    if top_k is not None and top_k < V:
        values, order = torch.sort(x, dim=-1, descending=True)
        if bool((values[:, top_k - 1] - values[:, top_k]).abs().min() < 1e-4):
            return None
        keep = torch.zeros(B, V, dtype=torch.bool).scatter(-1, order[:, :top_k], True)
    if top_p is not None and top_p < 1:
        current = x.masked_fill(~keep, float("-inf"))
        probs, order = torch.sort(torch.softmax(current, dim=-1), dim=-1, descending=True)
        cum = probs.cumsum(dim=-1)
        if bool((cum - top_p).abs().min() < margin):
            return None
        n_keep = (cum < top_p).sum(dim=-1) + 1  # the smallest prefix whose mass reaches top_p
        rank = torch.arange(V).expand(B, V)
        keep_sorted = rank < n_keep[:, None]
        keep = torch.zeros(B, V, dtype=torch.bool).scatter(-1, order, keep_sorted)
    return keep


def token_ids(got, shape: tuple[int, ...], vocab_size: int, what: str) -> torch.Tensor:
    """``got`` must be an int64 tensor of ``shape`` holding valid token ids."""
    got = expect_tensor(got, shape=shape, dtype=torch.int64, what=what)
    if got.numel() and not (int(got.min()) >= 0 and int(got.max()) < vocab_size):
        raise GradeFailure(
            f"{what}: token ids must lie in [0, {vocab_size}), got values from "
            f"{int(got.min())} to {int(got.max())}"
        )
    return got
