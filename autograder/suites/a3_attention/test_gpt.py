"""Task 5, the GPT forward pass (20 points).

Oracle: a Hugging Face ``GPT2LMHeadModel`` built offline from a tiny random config (eager attention,
dropouts 0, eval mode), its weights converted to the kit's names and loaded into the submission's ``GPT`` with
``load_state_dict``. Invariants: causality, right padding, weight tying. Tolerance on logits (float32, of
order 10 here): 1e-4 absolute plus 1e-4 relative (observed error of a correct implementation: about 5e-6).

Initialisation: the pinned ``GPT._init_weights`` (given in the starter) draws weights from N(0, 0.02), GPT-2's
``initializer_range``. A fresh model's logits are then nearly uniform: their spread is about
0.02 * sqrt(d_model), 0.11 for d_model = 32, which puts the loss about 0.006 nats above ln V (the entropy of
the uniform distribution over V tokens); PyTorch's default embedding init N(0, 1) gives logits of spread
sqrt(d_model) and a loss several nats above. The test allows 0.05 nats (the mean over 240 targets scatters by
about 0.007) and 15 % on each weight matrix's standard deviation (from 512 to 4096 weights, the sample
standard deviation scatters by 3.1 % to 1.1 %; PyTorch's default inits are off by a factor of 5 or more).
"""

import math

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import GradeFailure, expect, expect_close, expect_probe_grads, expect_tensor
from autograder.client import CallFailed

ATOL, RTOL = 1e-4, 1e-4
SMALL = dict(vocab_size=37, block_size=11, d_model=24, n_layers=2, n_heads=3)
SMALL_TEXT = "V=37, block_size=11, d_model=24, n_layers=2, n_heads=3"


def _expect_hf_logits(model, hf, idx: torch.Tensor, *, what: str) -> None:
    """The submission's logits for `idx` must match the Hugging Face model's (same weights)."""
    expect_close(model(idx), O.hf_logits(hf, idx), atol=ATOL, rtol=RTOL, what=what)


@pytest.mark.points(3)
def test_gpt_matches_hf(sub, rng):
    """GPT logits match Hugging Face GPT-2 (V=37, block_size=11, d_model=24, 2 layers, 3 heads; B=2, T=7)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    idx = torch.randint(0, 37, (2, 7), generator=rng)
    _expect_hf_logits(model, hf, idx, what=f"GPT({SMALL_TEXT}) logits for idx of shape (2, 7)")


@pytest.mark.points(2)
def test_gpt_full_context(sub, rng):
    """GPT with 3 layers, 5 heads, layer_norm_eps=1e-3 on a full context window (B=3, T=block_size=9, V=50)"""
    config = dict(vocab_size=50, block_size=9, d_model=20, n_layers=3, n_heads=5, layer_norm_eps=1e-3)
    hf = O.hf_gpt(rng, **config)
    text = "V=50, block_size=9, d_model=20, n_layers=3, n_heads=5, layer_norm_eps=1e-3"
    model = O.student_gpt(sub, hf, f"GPT({text})")
    idx = torch.randint(0, 50, (3, 9), generator=rng)
    _expect_hf_logits(model, hf, idx, what=f"GPT({text}) logits for idx of shape (3, 9)")


@pytest.mark.points(1)
def test_gpt_single_token(sub, rng):
    """GPT on one-token sequences (B=4, T=1)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    idx = torch.randint(0, 37, (4, 1), generator=rng)
    _expect_hf_logits(model, hf, idx, what=f"GPT({SMALL_TEXT}) logits for idx of shape (4, 1)")


@pytest.mark.points(1)
def test_gpt_is_causal(sub, rng):
    """changing later tokens leaves the logits at earlier positions unchanged (B=2, T=8)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    idx = torch.randint(0, 37, (2, 8), generator=rng)
    base = model(idx)
    expect_close(
        base,
        O.hf_logits(hf, idx),
        atol=ATOL,
        rtol=RTOL,
        what=f"GPT({SMALL_TEXT}) logits for idx of shape (2, 8)",
    )
    for cut in (2, 5):
        idx2 = idx.clone()
        shift = 1 + torch.randint(0, 36, idx2[:, cut + 1 :].shape, generator=rng)  # every later token changes
        idx2[:, cut + 1 :] = (idx2[:, cut + 1 :] + shift) % 37
        got = expect_tensor(model(idx2), shape=base.shape, dtype=torch.float32, what="GPT logits")
        expect_close(
            got[:, : cut + 1],
            base[:, : cut + 1],
            atol=1e-5,
            rtol=1e-5,
            what=f"logits at positions 0..{cut} after the tokens at positions {cut + 1}..7 changed "
            f"(they must not move)",
        )


@pytest.mark.points(2)
def test_gpt_weight_tying_behaviour(sub, rng):
    """lm_head and wte are one Parameter: a new lm_head.weight shows in wte, a new wte.weight in the logits"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    new_head = torch.randn(37, 24, generator=rng)
    result = model.call("load_state_dict", {"lm_head.weight": new_head}, strict=False)
    expect(
        isinstance(result, list) and len(result) == 2 and not result[1],
        "load_state_dict({'lm_head.weight': ...}, strict=False) did not find the parameter lm_head.weight",
    )
    tokens = torch.randint(0, 37, (2, 5), generator=rng)
    expect_close(
        model.call("get_submodule", "wte")(tokens),
        new_head[tokens],
        atol=0,
        what="wte(idx) after loading a new lm_head.weight only: the token embeddings must be that same "
        "matrix (self.lm_head.weight = self.wte.weight)",
    )
    new_wte = torch.randn(37, 24, generator=rng)
    result = model.call("load_state_dict", {"wte.weight": new_wte}, strict=False)
    expect(
        isinstance(result, list) and len(result) == 2 and not result[1],
        "load_state_dict({'wte.weight': ...}, strict=False) did not find the parameter wte.weight",
    )
    with torch.no_grad():
        hf.transformer.wte.weight.copy_(new_wte)  # tied in GPT-2: lm_head.weight is the same tensor
    idx = torch.randint(0, 37, (2, 6), generator=rng)
    _expect_hf_logits(
        model,
        hf,
        idx,
        what="logits after loading a new wte.weight only: the output layer must use the same matrix "
        "(self.lm_head.weight = self.wte.weight)",
    )


@pytest.mark.points(1)
def test_gpt_parameter_count(sub, rng):
    """GPT has as many parameters as GPT-2 of the same size (tied lm_head counted once, no lm_head bias)"""
    hf = O.hf_gpt(rng, **SMALL)
    config = sub.new("model.GPTConfig", **SMALL)
    model = sub.new("model.GPT", config)
    params = sub.call("builtins.dict", model.call("named_parameters"))
    expect(
        isinstance(params, dict) and all(isinstance(p, torch.Tensor) for p in params.values()),
        "named_parameters() of GPT did not give (name, tensor) pairs",
    )
    got = sum(p.numel() for p in params.values())
    want = sum(p.numel() for p in hf.parameters())
    expect(
        got == want,
        f"GPT({SMALL_TEXT}) has {got} parameters; the GPT-2 layout with a tied lm_head has "
        f"{want} (an untied lm_head adds {37 * 24}, a bias on lm_head {37})",
    )


@pytest.mark.points(1)
def test_gpt_layer_norms_use_config_eps(sub, rng):
    """every LayerNorm of GPT (ln_1, ln_2, ln_f) uses config.layer_norm_eps, on inputs where eps matters"""
    hf = O.hf_gpt(rng, **SMALL, layer_norm_eps=1e-2)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT}, layer_norm_eps=1e-2)")
    state = O.kit_state_dict(hf)
    for name in ("blocks.0.ln_1", "blocks.0.ln_2", "blocks.1.ln_1", "blocks.1.ln_2", "ln_f"):
        x = 0.05 * torch.randn(2, 3, 24, generator=rng)  # variance 2.5e-3: eps 1e-5 instead of 1e-2 doubles y
        want = F.layer_norm(x, (24,), state[f"{name}.weight"], state[f"{name}.bias"], eps=1e-2)
        expect_close(
            model.call("get_submodule", name)(x),
            want,
            atol=1e-5,
            rtol=1e-5,
            what=f"GPT's {name}(x) for x of shape (2, 3, 24) and variance 2.5e-3, layer_norm_eps=1e-2 "
            f"(every LayerNorm takes eps=config.layer_norm_eps)",
        )


@pytest.mark.points(1)
def test_gpt_initial_loss_near_ln_v(sub, rng, seed):
    """a freshly built GPT has the pinned initialisation (weights N(0, 0.02)) and a loss near ln V (V=61)"""
    config = dict(vocab_size=61, block_size=16, d_model=32, n_layers=2, n_heads=4)
    sub.call("torch.manual_seed", seed)
    model = sub.new("model.GPT", sub.new("model.GPTConfig", **config))
    model.call("eval")
    # every name of a tied matrix (either direction of tying lists it under one name only by default)
    params = sub.call("builtins.dict", model.call("named_parameters", remove_duplicate=False))
    expect(isinstance(params, dict), "named_parameters() of GPT did not give (name, tensor) pairs")
    for name in ("wte.weight", "wpe.weight", "blocks.0.attn.qkv.weight", "blocks.1.mlp.fc.weight"):
        expect(name in params, f"GPT has no parameter {name!r} (names are pinned)")
        std = float(params[name].float().std())
        expect(
            0.017 < std < 0.023,
            f"a fresh GPT(V=61, block_size=16, d_model=32, n_layers=2, n_heads=4): {name} has standard "
            f"deviation {std:.4f}; the pinned initialisation gives 0.02 (end __init__ with "
            f"self.apply(self._init_weights), as the handout pins)",
        )
    idx = torch.randint(0, 61, (16, 16), generator=rng)
    logits = expect_tensor(model(idx), shape=(16, 16, 61), dtype=torch.float32, what="GPT logits at init")
    loss = float(F.cross_entropy(logits[:, :-1].reshape(-1, 61), idx[:, 1:].reshape(-1)))
    expect(
        abs(loss - math.log(61)) < 0.05,
        f"a fresh GPT(V=61, d_model=32) scores random tokens with a next-token loss of {loss:.3f} nats; with "
        f"the pinned initialisation it is within 0.05 of ln V = {math.log(61):.3f} (nearly uniform logits)",
    )


@pytest.mark.points(1)
def test_gpt_rejects_long_input(sub, rng):
    """GPT raises ValueError for sequences longer than block_size (T=12 > 11), and runs on T=11"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    idx = torch.randint(0, 37, (2, 12), generator=rng)
    _expect_hf_logits(  # an error path earns nothing unless the normal path works
        model, hf, idx[:, :11], what=f"GPT({SMALL_TEXT}) logits for idx of shape (2, 11) = block_size"
    )
    try:
        model(idx)
    except CallFailed as exc:
        first_line = (str(exc).splitlines() or [""])[0]  # "<call>: <ExceptionType>: <message>"
        if exc.kind != "exception" or ": ValueError:" not in first_line:
            raise GradeFailure(
                f"GPT.forward on T=12 > block_size=11 must raise ValueError; it raised: {str(exc)[:300]}"
            ) from None
        return
    raise GradeFailure("GPT.forward on T=12 > block_size=11 must raise ValueError; it returned normally")


@pytest.mark.points(2)
def test_gpt_right_padding(sub, rng):
    """with a right-padded batch, logits at real positions equal those of each unpadded sequence (B=3, T=7)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    lengths = [7, 3, 5]
    idx = torch.randint(0, 37, (3, 7), generator=rng)  # the padding positions hold arbitrary tokens
    mask = torch.tensor([[1] * n + [0] * (7 - n) for n in lengths])
    padded = expect_tensor(
        model(idx, mask), shape=(3, 7, 37), dtype=torch.float32, what="GPT logits with attention_mask"
    )
    for b, n in enumerate(lengths):
        alone = model(idx[b : b + 1, :n])
        expect_close(
            alone,
            O.hf_logits(hf, idx[b : b + 1, :n]),
            atol=ATOL,
            rtol=RTOL,
            what=f"GPT logits of one unpadded sequence of length {n}",
        )
        expect_close(
            padded[b : b + 1, :n],
            alone,
            atol=1e-5,
            rtol=1e-5,
            what=f"logits of batch row {b} (length {n}, right-padded to 7 with attention_mask) at "
            f"its real positions, against the same sequence run alone",
        )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_gpt_mask_with_holes(sub, rng):
    """GPT passes attention_mask to every block (bool mask with padding inside rows; B=3, T=8)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    idx = torch.randint(0, 37, (3, 8), generator=rng)
    mask = O.mask_with_holes(rng, 3, 8).bool()
    expect_close(
        model(idx, mask),
        O.hf_logits(hf, idx, mask.long()),
        atol=ATOL,
        rtol=RTOL,
        mask=mask[:, :, None],
        what="GPT logits at real positions with a bool attention_mask that has padding inside rows "
        "(positions stay 0..T-1 whatever the mask, as pinned)",
    )


@pytest.mark.points(2)
def test_gpt_gradients_reach_every_parameter(sub, rng):
    """backpropagating through GPT gives every parameter the gradient Hugging Face GPT-2 gets (B=2, T=6)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    idx = torch.randint(0, 37, (2, 6), generator=rng)
    upstream = torch.randn(2, 6, 37, generator=rng)
    what = f"GPT({SMALL_TEXT}) on idx of shape (2, 6)"
    r = model.probe("forward", idx, observe=["grads"], upstream=upstream)
    expect_close(r["value"], O.hf_logits(hf, idx), atol=ATOL, rtol=RTOL, what=f"{what}: logits")
    grads = r["grads"]
    expect(grads["error"] is None, f"backpropagating through {what} failed: {grads['error']}")
    got = dict(grads["params"]["self"])
    if "wte.weight" not in got and "lm_head.weight" in got:  # the tied matrix under the head's name
        got["wte.weight"] = got.pop("lm_head.weight")
    expect_probe_grads(
        got,
        O.hf_param_grads(hf, idx, upstream),
        what=f"d sum(g * logits) / d params, {what}",
    )


@pytest.mark.points(1)
def test_gpt_on_the_meta_device(sub, rng):
    """GPT makes its positions on the input's device: a forward pass with the model and idx on the meta device
    (B=2, T=7)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    idx = torch.randint(0, 37, (2, 7), generator=rng)
    _expect_hf_logits(  # the meta call earns nothing unless the ordinary one is right
        model, hf, idx, what=f"GPT({SMALL_TEXT}) logits for idx of shape (2, 7)"
    )
    O.expect_runs_on_meta(
        lambda: model.probe("forward", idx, device="meta", observe=["devices"]),
        (2, 7, 37),
        what=f"GPT({SMALL_TEXT}) on idx of shape (2, 7), on the meta device",
    )
