"""Trusted-side oracles of the a3 hidden suite: library computations the submission is compared with.

- a Hugging Face ``GPT2LMHeadModel`` built offline from a tiny config (eager attention, no dropout, eval
  mode), with random weights drawn from the test's generator so that activations and logits are of order one,
  and its weights converted to the kit's ``state_dict`` layout (HF ``Conv1D`` weights are [in, out], the kit's
  ``nn.Linear`` weights [out, in]);
- multi-head attention written with ``F.scaled_dot_product_attention`` in the pinned GPT-2 layout;
- the filtering of ``sampling.filter_logits`` written as the handout pins it (temperature, top-k, top-p).

Test files import it as ``_oracles`` (the runner puts the suite's folder on sys.path); it never imports
student code. The GPT-2 helpers (config, random weights, conversion to the kit's names, loading them into a
submission) come from the public tests' ``_common.py``, so that both suites convert weights the same way.
"""

from __future__ import annotations

import math
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from transformers import GPT2Model  # noqa: E402
from transformers.pytorch_utils import Conv1D  # noqa: E402

from autograder.checks import GradeFailure, expect, expect_tensor  # noqa: E402
from autograder.client import CallFailed  # noqa: E402
from autograder.course import kit_root  # noqa: E402

transformers.logging.set_verbosity_error()

# The GPT-2 helpers the public tests use are the hidden suite's too: one conversion of HF weights to the kit's
# names, one way of drawing them, one loader. The public helper module ships to students; it holds no answer.
sys.path.insert(0, str(kit_root() / "tests" / "public" / "a3_attention"))
from _common import (  # noqa: E402
    _KIT_NAMES,
    FORBIDDEN_IN_ATTENTION,  # noqa: F401 - part of this module's interface
    expect_own_attention,  # noqa: F401
    hf_config,
    hf_gpt,  # noqa: F401
    hf_logits,  # noqa: F401
    kit_state_dict,
    load_weights,  # noqa: F401
    own_attention,  # noqa: F401
    randomize,
    student_gpt,  # noqa: F401
)

# ---------------------------------------------------------------------------------------------- HF GPT-2


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


# ---------------------------------------------------------------------------------------------- probes
# Observations made in the worker by the kit's probes (autograder/probes.py) are raw data; these helpers judge
# them against the oracles above.


def hf_param_grads(hf, idx: torch.Tensor, upstream: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gradients of sum(logits * upstream) w.r.t. every parameter of the HF model, under the kit's names
    (Conv1D gradients transposed like their weights; the tied matrix once, as ``wte.weight``)."""
    hf.zero_grad(set_to_none=True)
    positions = torch.arange(idx.shape[1]).expand(idx.shape[0], -1)
    with torch.enable_grad():
        logits = hf(input_ids=idx, position_ids=positions).logits
        (logits * upstream).sum().backward()
    conv1d = {f"{name}.weight" for name, m in hf.named_modules() if isinstance(m, Conv1D)}
    grads = {}
    for name, p in hf.named_parameters():
        g = p.grad.detach().clone()
        if name in conv1d:
            g = g.t().contiguous()
        parts = name.removeprefix("transformer.").split(".")
        grads[".".join(_KIT_NAMES.get(part, part) for part in parts)] = g
    hf.zero_grad(set_to_none=True)
    return grads


def expect_unchanged(after, sent: torch.Tensor, *, what: str) -> None:
    """An input as the call left it (a probe's ``inputs_after``) must equal what was sent."""
    got = expect_tensor(after, shape=sent.shape, dtype=sent.dtype, what=what)
    if not torch.equal(got, sent):
        changed = int((got != sent).sum())
        raise GradeFailure(
            f"{what}: {changed} of {sent.numel()} entries were changed by the call; inputs must not be "
            f"modified in place (write x = x - m, not x -= m or x.sub_(m))"
        )


def expect_runs_on_meta(probe, shape: tuple[int, ...], *, what: str) -> None:
    """``probe()`` (a probe with ``device="meta"``, observing ``"devices"``) must succeed, return a meta
    tensor of ``shape``, and make no tensor on another device during the call (masks, positions and the like
    must be created on the inputs' device)."""
    try:
        result = probe()
    except CallFailed as exc:
        if exc.kind != "exception":
            raise
        message = (str(exc).splitlines() or [""])[0].split(": ", 1)[-1][:300]  # "<call>: <Type>: <message>"
        raise GradeFailure(
            f"{what}: with every input and parameter on the meta device the call failed ({message}); a "
            f"tensor made on the default device (the CPU) met one on the inputs' device: create masks and "
            f"positions with device=<the input's device>"
        ) from None
    value, devices = result.get("value"), result.get("devices")
    expect(
        isinstance(value, dict) and value.get("meta") is True and value.get("shape") == list(shape),
        f"{what}: with every input and parameter on the meta device, expected a meta tensor of shape "
        f"{tuple(shape)} as output",
    )
    other = sorted(d for d in devices or {} if d != "meta")
    expect(
        isinstance(devices, dict) and not other,
        f"{what}: with every input and parameter on the meta device, "
        f"{sum(devices[d] for d in other)} tensors were made on {', '.join(other)}: create masks and "
        f"positions with device=<the input's device>",
    )
