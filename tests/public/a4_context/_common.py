"""Helpers of the a4 public tests (and of the hidden suite): live library oracles and loading their weights.

The oracles come from Hugging Face ``transformers`` (5.x), built offline from tiny random configs (no
download): ``LlamaForCausalLM`` and ``MistralForCausalLM`` (eager attention, eval mode), their rotary
embedding
(``LlamaRotaryEmbedding``, ``apply_rotary_pos_emb``, ``rotate_half``, ``repeat_kv``), the RoPE initialisers of
``modeling_rope_utils`` and the ``DynamicCache`` of ``cache_utils``. Random weights are drawn at a scale where
activations and logits are of order one, and loaded into your ``Decoder`` under the same names.

RoPE layout: the pinned layout is Hugging Face's half-split one. The interleaved layout of the RoFormer paper
and Meta's code is accepted: a tensor rotated in that layout equals the half-split result with its features
permuted (``interleaved(x) == half_split(x[..., PERM])[..., INV_PERM]``, PERM = [0, 2, ..., d-2, 1, 3, ...,
d-1]);
for a whole model the query and key projection rows are permuted the same way (Meta's checkpoint layout),
which
leaves every attention score unchanged.
"""

from __future__ import annotations

import math
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM  # noqa: E402
from transformers.models.llama.modeling_llama import (  # noqa: E402
    LlamaRotaryEmbedding,
    apply_rotary_pos_emb,
    rotate_half,  # noqa: F401  (the suites' oracle for rotate_half)
)

from autograder.checks import GradeFailure, expect, expect_close, expect_tensor  # noqa: E402

transformers.logging.set_verbosity_error()

LOGIT_ATOL, LOGIT_RTOL = 1e-4, 1e-4  # float32 logits of order 3; a correct decoder is off by about 1e-6


# ---------------------------------------------------------------------------------------------- layouts


def perm(d: int) -> torch.Tensor:
    """[0, 2, ..., d-2, 1, 3, ..., d-1]: the feature order taking the interleaved layout to half-split."""
    return torch.cat([torch.arange(0, d, 2), torch.arange(1, d, 2)])


def inv_perm(d: int) -> torch.Tensor:
    return torch.argsort(perm(d))


def to_interleaved(t: torch.Tensor) -> torch.Tensor:
    """A half-split feature layout on the last axis, rearranged into the interleaved one."""
    return t[..., inv_perm(t.shape[-1])]


def interleaved_of(fn, x: torch.Tensor) -> torch.Tensor:
    """What a per-feature operation ``fn`` written for the half-split layout gives in the interleaved one:
    ``to_interleaved(fn(x[..., PERM]))`` (pair i is features (2i, 2i + 1) instead of (i, i + d/2))."""
    return to_interleaved(fn(x[..., perm(x.shape[-1])]))


def expect_either_layout(
    got, expected_half: torch.Tensor, expected_interleaved: torch.Tensor, *, what: str, atol: float
) -> str:
    """``got`` must match the half-split answer or the interleaved one; returns the layout that matched."""
    got = expect_tensor(got, shape=expected_half.shape, dtype=expected_half.dtype, what=what)
    try:
        expect_close(got, expected_half, atol=atol, what=what)
        return "half"
    except GradeFailure as half_failure:
        try:
            expect_close(got, expected_interleaved, atol=atol, what=what)
            return "interleaved"
        except GradeFailure:
            raise GradeFailure(
                f"{half_failure} (compared with the half-split layout; the interleaved layout does not match "
                f"either)"
            ) from None


# ---------------------------------------------------------------------------------------------- HF RoPE


def hf_rope_config(head_dim: int, rope_parameters: dict, max_position_embeddings: int = 64) -> LlamaConfig:
    """A LlamaConfig whose only purpose is to carry RoPE settings to the HF initialisers."""
    return LlamaConfig(
        hidden_size=head_dim * 2,
        num_attention_heads=2,
        head_dim=head_dim,
        max_position_embeddings=max_position_embeddings,
        rope_parameters=dict(rope_parameters),
    )


def hf_cos_sin(head_dim: int, positions: torch.Tensor, rope_parameters: dict | None = None):
    """HF's (cos, sin) for positions [T] or [B, T]: shape positions.shape + (d,), half-split layout."""
    rp = rope_parameters or {"rope_type": "default", "rope_theta": 10000.0}
    emb = LlamaRotaryEmbedding(hf_rope_config(head_dim, rp))
    pos = positions if positions.dim() == 2 else positions[None]
    with torch.no_grad():
        cos, sin = emb(torch.zeros(1, dtype=torch.float32), pos)
    return (cos, sin) if positions.dim() == 2 else (cos[0], sin[0])


def hf_apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """HF's rotation of x [B, H, T, d] with cos/sin [T, d] or [B, T, d]."""
    if cos.dim() == 2:
        cos, sin = cos[None], sin[None]
    q, _ = apply_rotary_pos_emb(x, x, cos, sin)  # unsqueezes the heads axis itself
    return q


# ---------------------------------------------------------------------------------------------- HF models

FAMILIES = {"llama": (LlamaConfig, LlamaForCausalLM), "mistral": (MistralConfig, MistralForCausalLM)}


def hf_model(
    rng: torch.Generator,
    family: str = "llama",
    *,
    vocab_size: int = 37,
    d_model: int = 24,
    n_layers: int = 2,
    n_heads: int = 6,
    n_kv_heads: int = 2,
    d_ff: int = 40,
    max_position_embeddings: int = 64,
    rope_parameters: dict | None = None,
    sliding_window: int | None = None,
):
    """A tiny random HF Llama or Mistral causal LM (eager attention, eval mode)."""
    config_cls, model_cls = FAMILIES[family]
    extra = {"sliding_window": sliding_window} if family == "mistral" else {}
    config = config_cls(
        vocab_size=vocab_size,
        hidden_size=d_model,
        intermediate_size=d_ff,
        num_hidden_layers=n_layers,
        num_attention_heads=n_heads,
        num_key_value_heads=n_kv_heads,
        max_position_embeddings=max_position_embeddings,
        rope_parameters=dict(rope_parameters or {"rope_type": "default", "rope_theta": 10000.0}),
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        attn_implementation="eager",
        pad_token_id=0,
        bos_token_id=0,
        eos_token_id=None,
        **extra,
    )
    model = model_cls(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=rng)
            if "norm" in name:
                p.copy_(1.0 + 0.2 * noise)
            elif "embed_tokens" in name:
                p.copy_(noise)
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                p.copy_(2.0 * noise / math.sqrt(p.shape[1]))
            else:
                p.copy_(noise / math.sqrt(p.shape[1]))
    return model.eval()


def hf_logits(model, idx: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=idx, use_cache=False).logits


def hf_generate(model, idx: torch.Tensor, n: int) -> torch.Tensor:
    """HF's greedy generation with its own cache: [B, T0 + n]."""
    with torch.no_grad():
        return model.generate(
            idx, attention_mask=torch.ones_like(idx), max_new_tokens=n, min_new_tokens=n, do_sample=False
        )


def kit_config(hf) -> dict:
    """The ``DecoderConfig`` keyword arguments of an HF model's config."""
    c = hf.config
    return dict(
        vocab_size=c.vocab_size,
        d_model=c.hidden_size,
        n_layers=c.num_hidden_layers,
        n_heads=c.num_attention_heads,
        n_kv_heads=c.num_key_value_heads,
        d_ff=c.intermediate_size,
        head_dim=c.head_dim,
        max_position_embeddings=c.max_position_embeddings,
        rope_parameters=dict(c.rope_parameters),
        sliding_window=getattr(c, "sliding_window", None),
        rms_norm_eps=c.rms_norm_eps,
        tie_word_embeddings=False,
    )


def kit_state_dict(hf, layout: str = "half") -> dict[str, torch.Tensor]:
    """The HF weights under the kit's names (``model.`` prefix dropped). For an interleaved RoPE layout the
    rows of q_proj and k_proj are rearranged per head into Meta's order, which keeps every score the same."""
    c = hf.config
    state = {}
    for name, value in hf.state_dict().items():
        value = value.detach().clone()
        if layout == "interleaved" and name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = value.shape[0] // c.head_dim
            value = (
                to_interleaved(value.t().reshape(-1, heads, c.head_dim)).reshape(-1, heads * c.head_dim).t()
            )
            value = value.contiguous()
        state[name.removeprefix("model.")] = value
    return state


def kit_state_dict_like(hf, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-parameter tensors of an HF model (for example its gradients, keyed without ``model.``) moved to the
    interleaved layout the way ``kit_state_dict`` moves the weights."""
    c = hf.config
    out = {}
    for name, value in tensors.items():
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = value.shape[0] // c.head_dim
            value = (
                to_interleaved(value.t().reshape(-1, heads, c.head_dim)).reshape(-1, heads * c.head_dim).t()
            )
        out[name] = value.contiguous()
    return out


def rope_layout(sub) -> str:
    """The layout in which the submission's RoPE rotates (a probe through its rope_tables and apply_rope);
    "half" when it matches neither (the model tests then report the mismatch)."""
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(1, 1, 3, 8, generator=g)
    positions = torch.tensor([1, 4, 6])
    try:
        inv = sub.call("rope.inv_frequencies", 8, 10000.0)
        cos, sin = sub.call("rope.rope_tables", inv, positions)
        got = sub.call("rope.apply_rope", x, cos, sin)
        cos_hf, sin_hf = hf_cos_sin(8, positions)
        rotate = lambda t: hf_apply_rope(t, cos_hf, sin_hf)  # noqa: E731
        return expect_either_layout(got, rotate(x), interleaved_of(rotate, x), what="probe", atol=1e-5)
    except Exception:  # a failing RoPE is graded by its own tests
        return "half"


def load_weights(module, state: dict[str, torch.Tensor], what: str) -> None:
    """``module.load_state_dict(state, strict=False)``; every given weight must find its pinned parameter."""
    result = module.call("load_state_dict", state, strict=False)
    ok = isinstance(result, list) and len(result) == 2 and all(isinstance(r, list) for r in result)
    expect(ok, f"{what}: load_state_dict did not return (missing_keys, unexpected_keys)")
    unexpected = sorted(str(k) for k in result[1])
    missing = sorted(str(k) for k in result[0])
    expect(
        not unexpected,
        f"{what}: these weights found no parameter of that name in your module: {unexpected[:6]}; "
        f"parameter names are pinned in the handout",
    )
    expect(not missing, f"{what}: these parameters of your module got no weight: {missing[:6]}")


def student_decoder(sub, hf, what: str, layout: str | None = None):
    """Your ``Decoder`` with the HF model's hyperparameters and weights, in eval mode."""
    layout = layout or rope_layout(sub)
    config = sub.new("model.DecoderConfig", **kit_config(hf))
    model = sub.new("model.Decoder", config)
    load_weights(model, kit_state_dict(hf, layout), what)
    model.call("eval")
    return model


def describe(hf) -> str:
    c = hf.config
    text = (
        f"{type(hf).__name__.removesuffix('ForCausalLM')}(V={c.vocab_size}, d_model={c.hidden_size}, "
        f"layers={c.num_hidden_layers}, heads={c.num_attention_heads}, kv_heads={c.num_key_value_heads}"
    )
    if getattr(c, "sliding_window", None):
        text += f", sliding_window={c.sliding_window}"
    if c.rope_parameters.get("rope_type", "default") != "default":
        text += f", rope_type={c.rope_parameters['rope_type']}"
    return text + ")"


def cached_logits(model, idx: torch.Tensor, chunks: list[int], cache=None) -> list[torch.Tensor]:
    """Run your model over ``idx`` in chunks of the given sizes with one cache; the logits of each chunk."""
    cache = cache if cache is not None else model.call("new_cache")
    out, start = [], 0
    for size in chunks:
        out.append(model(idx[:, start : start + size], cache))
        start += size
    return out
