"""Problem 4, lora: LoRA layers, injection, merging and peft's adapter format (30 points).

Oracles: peft 0.21.2 (``get_peft_model`` builds an adapter on the trusted copy of the model;
``PeftModel.from_pretrained`` loads the submission's adapter, written to a temporary folder here from the
tensors and config that came over the wire); the LoRA formula y = W0 x + b + s * B A dropout(x) with
s = alpha / r (rsLoRA: alpha / sqrt(r)), computed here; worker-side probes for what values cannot show
(requires_grad, gradients). The models: ``nn.Linear`` layers, a toy ``nn.Sequential`` and a tiny random
LLaMA built offline (see ``tests/public/a7_open_models/_lora_common.py``).

Tolerances (float32): 1e-5 on layer outputs of order one, 1e-4 on the LLaMA's logits (two layers; peft
adds the same terms in another order). Facts: peft's init (A Kaiming-uniform with a = sqrt(5), so
|A| <= 1/sqrt(in), B = 0), scaling alpha/r or alpha/sqrt(r), dropout on A's input, suffix matching of
target names, the saved names ``base_model.model.<path>.lora_A.weight``: reference/llm-facts.md, "LoRA
family", and peft's ``tuners/lora/layer.py`` and ``tuners/tuners_utils.py``.
"""

import json
import math
import sys

import pytest
import torch

from autograder.checks import GradeFailure, expect, expect_close, expect_tensor
from autograder.client import CallFailed
from autograder.course import kit_root

sys.path.insert(0, str(kit_root() / "tests" / "public" / "a7_open_models"))
import _lora_common as L  # noqa: E402

ATOL = 1e-5


def _lora_linear(sub, rng, d_in, d_out, r, alpha, **kwargs):
    """(trusted base layer, the submission's LoRALinear around its copy)."""
    base, remote_base = L.linear_pair(sub, rng, d_in, d_out)
    return base, sub.new("lora.LoRALinear", remote_base, r, alpha, **kwargs)


def _set_lora(module, rng, r, d_in, d_out, prefix=""):
    """Random A [r, in] and B [out, r] loaded into a LoRA layer by its pinned names; returns (A, B)."""
    A = torch.randn(r, d_in, generator=rng) * 0.4
    B = torch.randn(d_out, r, generator=rng) * 0.4
    module.call("load_state_dict", {f"{prefix}lora_A.weight": A, f"{prefix}lora_B.weight": B}, strict=False)
    return A, B


def _inject_llama(sub, llama, targets, r, alpha, **kwargs):
    """inject_lora on the submission's LLaMA; the names it returns, checked to be wrapped layers' names."""
    names = sub.call("lora.inject_lora", llama, targets, r, alpha, **kwargs)
    expect(
        isinstance(names, list)
        and all(isinstance(n, str) and n.rsplit(".", 1)[-1] in targets for n in names),
        f"inject_lora(llama, {targets}) should return the names of the layers it wrapped: {str(names)[:80]}",
    )
    return names


def _expected(base, x, A, B, scaling):
    with torch.no_grad():
        return base(x) + scaling * (x @ A.T) @ B.T


@pytest.mark.points(3)
def test_lora_linear_forward(sub, rng):
    """LoRALinear(Linear(7, 5), r=3, alpha=6): pinned parameter shapes, and y = W0 x + b + (alpha/r) B A x"""
    base, module = _lora_linear(sub, rng, 7, 5, 3, 6.0)
    params = sub.call("builtins.dict", module.call("named_parameters"))
    for name, shape in {
        "base_layer.weight": (5, 7),
        "lora_A.weight": (3, 7),
        "lora_B.weight": (5, 3),
    }.items():
        expect(name in params, f"LoRALinear has no parameter {name!r} (the names are pinned, as in peft)")
        expect_tensor(params[name], shape=shape, what=f"LoRALinear(Linear(7, 5), r=3) parameter {name}")
    A, B = _set_lora(module, rng, 3, 7, 5)
    x = torch.randn(2, 4, 7, generator=rng)
    expect_close(
        module(x),
        _expected(base, x, A, B, 6.0 / 3),
        atol=ATOL,
        what="LoRALinear(Linear(7, 5), r=3, alpha=6)(x) with random A and B, x of shape (2, 4, 7) "
        "(scaling alpha / r = 2)",
    )


@pytest.mark.points(2)
def test_rslora_scaling(sub, rng):
    """use_rslora=True scales by alpha / sqrt(r): r=4, alpha=3 gives 1.5; r=9, alpha=6 gives 2"""
    for r, alpha in [(4, 3.0), (9, 6.0)]:
        base, module = _lora_linear(sub, rng, 6, 10, r, alpha, use_rslora=True)
        A, B = _set_lora(module, rng, r, 6, 10)
        x = torch.randn(3, 6, generator=rng)
        expect_close(
            module(x),
            _expected(base, x, A, B, alpha / math.sqrt(r)),
            atol=ATOL,
            what=f"LoRALinear(Linear(6, 10), r={r}, alpha={alpha}, use_rslora=True)(x), x of shape (3, 6) "
            f"(scaling alpha / sqrt(r) = {alpha / math.sqrt(r)})",
        )


@pytest.mark.points(2)
def test_init_as_peft(sub, rng):
    """at init B is zero (the layer gives the base output) and A is Kaiming-uniform with a=sqrt(5), as in
    peft: |A| <= 1/sqrt(in) and std 1/sqrt(3 in) (Linear(256, 48), r=64)"""
    sub.call("torch.manual_seed", 1 + int(torch.randint(1000, (1,), generator=rng)))
    base, module = _lora_linear(sub, rng, 256, 48, 64, 16.0)
    params = sub.call("builtins.dict", module.call("named_parameters"))
    B = expect_tensor(params.get("lora_B.weight"), shape=(48, 64), what="lora_B.weight at init")
    expect(bool((B == 0).all()), f"lora_B.weight must start at zero; {int((B != 0).sum())} of 3072 are not")
    A = expect_tensor(params.get("lora_A.weight"), shape=(64, 256), what="lora_A.weight at init")
    bound = 1 / math.sqrt(256)
    expect(
        float(A.abs().max()) <= bound + 1e-7,
        f"lora_A.weight at init reaches {float(A.abs().max()):.4f}; Kaiming-uniform with a=sqrt(5) stays "
        f"within 1/sqrt(in) = {bound:.4f}",
    )
    std = float(A.std())
    expect(
        abs(std / (bound / math.sqrt(3)) - 1) < 0.1,
        f"lora_A.weight at init has std {std:.4f}; uniform on [-1/sqrt(in), 1/sqrt(in)] gives "
        f"{bound / math.sqrt(3):.4f}",
    )
    x = torch.randn(2, 256, generator=rng)
    expect_close(module(x), _expected(base, x, A, B, 0.0), atol=ATOL, what="LoRALinear(x) at init (B = 0)")


@pytest.mark.points(2)
def test_dropout_on_input_of_A(sub, rng):
    """dropout=0.5 in train mode drops features of A's input only: with one non-zero feature per row, a row's
    update is 0 or 2x the update without dropout, and the base output is never touched; no dropout in eval"""
    base, module = _lora_linear(sub, rng, 8, 5, 3, 3.0, dropout=0.5)
    A, B = _set_lora(module, rng, 3, 8, 5)
    rows = 64
    x = torch.zeros(rows, 8)
    x[torch.arange(rows), torch.randint(8, (rows,), generator=rng)] = torch.rand(rows, generator=rng) + 0.5
    full = _expected(base, x, A, B, 1.0) - base(x).detach()  # the update without dropout
    module.call("eval")
    expect_close(module(x), base(x).detach() + full, atol=ATOL, what="LoRALinear(dropout=0.5) in eval mode")
    module.call("train")
    sub.call("torch.manual_seed", int(torch.randint(1000, (1,), generator=rng)))
    got = expect_tensor(module(x), shape=(rows, 5), dtype=torch.float32, what="LoRALinear(dropout=0.5)(x)")
    delta = got - base(x).detach()
    kept = 0
    for i in range(rows):
        if torch.allclose(delta[i], torch.zeros(5), atol=ATOL):
            continue
        expect(
            torch.allclose(delta[i], 2 * full[i], atol=1e-4),
            f"in train mode with dropout=0.5, row {i} (one non-zero input feature) changed by an update that "
            "is neither 0 nor 2x the update without dropout: dropout must act on A's input only, "
            "scaled by 1/(1 - p), and the base layer must see x unchanged",
        )
        kept += 1
    expect(0 < kept < rows, f"dropout=0.5 in train mode kept the update of {kept} of {rows} rows")


@pytest.mark.points(4)
def test_merge_unmerge(sub, rng):
    """merge() puts s B A into the weight (same outputs), a second merge changes nothing, unmerge() restores
    W0 (and unmerge without merge changes nothing) (Linear(9, 4), r=2, alpha=5)"""
    base, module = _lora_linear(sub, rng, 9, 4, 2, 5.0)
    A, B = _set_lora(module, rng, 2, 9, 4)
    x = torch.randn(3, 9, generator=rng)
    want = _expected(base, x, A, B, 2.5)
    module.call("unmerge")
    weight = module.getattr("base_layer").getattr("weight")
    expect_close(
        weight, base.weight.detach(), atol=1e-6, what="base_layer.weight after unmerge() without merge"
    )
    module.call("merge")
    merged_w = base.weight.detach() + 2.5 * B @ A
    w = module.getattr("base_layer").getattr("weight")
    expect_close(w, merged_w, atol=ATOL, what="base_layer.weight after merge(): W0 + (alpha/r) B A")
    expect_close(module(x), want, atol=ATOL, what="LoRALinear(x) after merge()")
    module.call("merge")
    w = module.getattr("base_layer").getattr("weight")
    expect_close(w, merged_w, atol=ATOL, what="base_layer.weight after merging twice (must equal one merge)")
    expect_close(module(x), want, atol=ATOL, what="LoRALinear(x) after merging twice")
    module.call("unmerge")
    w = module.getattr("base_layer").getattr("weight")
    expect_close(w, base.weight.detach(), atol=ATOL, what="base_layer.weight after merge() then unmerge()")
    expect_close(module(x), want, atol=ATOL, what="LoRALinear(x) after unmerge()")


@pytest.mark.points(3)
def test_inject_by_suffix(sub, rng):
    """inject_lora(toy, ["q_proj", "head"]) wraps block.q_proj and head (peft's suffix match: a whole name or
    one after a dot; block.qq_proj and embed_proj stay plain); outputs unchanged at init; on the LLaMA,
    ["q_proj", "v_proj"] wraps those 4 layers"""
    local, toy = L.toy_pair(sub, rng)
    names = sub.call("lora.inject_lora", toy, ["q_proj", "head"], 2, 4.0)
    expect(
        names == ["block.q_proj", "head"],
        f"inject_lora(toy, ['q_proj', 'head']) replaced {names}; peft replaces ['block.q_proj', 'head'] "
        "(the toy's Linear layers: embed_proj, block.q_proj, block.qq_proj, head)",
    )
    for name in L.TOY_LAYERS:
        kind = toy.call("get_submodule", name).type_name
        want = "LoRALinear" if name in names else "Linear"
        expect(kind == want, f"after inject_lora the toy's {name} is a {kind}, it should be a {want}")
    x = torch.randn(4, 5, generator=rng)
    with torch.no_grad():
        expect_close(toy(x), local(x), atol=ATOL, what="the toy's output after inject_lora (B = 0 at init)")
    _local, llama = L.llama_pair(sub, 3)
    names = sub.call("lora.inject_lora", llama, ["q_proj", "v_proj"], 2, 4.0)
    want = sorted(f"model.layers.{i}.self_attn.{p}" for i in range(2) for p in ("q_proj", "v_proj"))
    expect(names == want, f"inject_lora(llama, ['q_proj', 'v_proj']) replaced {names}, expected {want}")


@pytest.mark.points(3)
def test_frozen_base_and_gradients(sub, rng, seed):
    """after inject_lora only lora_A and lora_B require grad, and their gradients equal peft's on the same
    adapter (probe: backward of sum(logits * g) on the LLaMA, q_proj and down_proj, r=3, alpha=6)"""
    local, llama = L.llama_pair(sub, seed % 1000)
    targets = ["q_proj", "down_proj"]
    oracle = L.peft_model(local, targets, 3, 6.0, rng)
    config, state = L.peft_adapter(oracle)
    sub.call("lora.inject_lora", llama, targets, 3, 6.0)
    prefix = "base_model.model."
    llama.call("load_state_dict", {k.removeprefix(prefix): v for k, v in state.items()}, strict=False)
    ids = torch.randint(37, (2, 6), generator=rng)
    g = torch.randn(2, 6, 37, generator=rng)
    r = llama.probe("forward", ids, observe=["grads"], output="logits", upstream=g)
    grads = r["grads"]
    expect(grads.get("error") is None, f"backward through the adapted LLaMA failed: {grads.get('error')}")
    requires = grads["requires_grad"]["self"]
    trainable = sorted(n for n, flag in requires.items() if flag)
    want_trainable = sorted(k.removeprefix(prefix) for k in state)
    expect(
        trainable == want_trainable,
        f"{len(trainable)} parameters require grad after inject_lora; exactly the {len(want_trainable)} "
        f"lora_A / lora_B weights should (first differences: "
        f"{sorted(set(trainable) ^ set(want_trainable))[:3]})",
    )
    oracle.zero_grad()
    (oracle(ids).logits * g).sum().backward()
    peft_grads = {
        n.removeprefix(prefix).replace(".default", ""): p.grad for n, p in oracle.named_parameters()
    }
    for name in want_trainable:
        got = grads["params"]["self"].get(name)
        expect(got is not None, f"no gradient reached {name}")
        expect_close(got, peft_grads[name], atol=1e-4, rtol=1e-4, what=f"the gradient of {name}")


@pytest.mark.points(2)
def test_parameter_counts(sub, rng):
    """count_parameters after injection: trainable = r (in + out) per wrapped layer, total = the base model's
    plus that (toy with r=3 on embed_proj and block.qq_proj; LLaMA with r=2 on every projection)"""
    local, toy = L.toy_pair(sub, rng)
    sub.call("lora.inject_lora", toy, ["embed_proj", "qq_proj"], 3, 3.0)
    extra = 3 * (5 + 7) + 3 * (6 + 6)
    total = sum(p.numel() for p in local.parameters()) + extra
    got = sub.call("lora.count_parameters", toy)
    expect(
        got == {"trainable": extra, "total": total},
        f"count_parameters(toy) after inject_lora(r=3, embed_proj and block.qq_proj) gave {got}; expected "
        f"{{'trainable': {extra}, 'total': {total}}}",
    )
    local, llama = L.llama_pair(sub, 5)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    sub.call("lora.inject_lora", llama, targets, 2, 2.0)
    per_layer = 2 * ((24 + 24) + (24 + 8) * 2 + (24 + 24) + (24 + 40) * 2 + (40 + 24))
    want = {"trainable": 2 * per_layer, "total": sum(p.numel() for p in local.parameters()) + 2 * per_layer}
    got = sub.call("lora.count_parameters", llama)
    expect(
        got == want,
        f"count_parameters(llama) after LoRA r=2 on all 7 projections gave {got}, expected {want}",
    )


@pytest.mark.points(2)
def test_state_dict_names(sub, seed, rng):
    """lora_state_dict uses peft's saved names and shapes (base_model.model.<path>.lora_A.weight, no adapter
    name) and adapter_config gives peft's fields (LLaMA, k_proj and up_proj, r=3, alpha=7)"""
    local, llama = L.llama_pair(sub, seed % 1000 + 1)
    sub.call("lora.inject_lora", llama, ["k_proj", "up_proj"], 3, 7.0)
    state = sub.call("lora.lora_state_dict", llama)
    _config, want = L.peft_adapter(L.peft_model(local, ["k_proj", "up_proj"], 3, 7.0, rng))
    L.expect_plain_adapter({}, state, "lora_state_dict(llama)")
    expect(
        set(state) == set(want),
        f"lora_state_dict gave the keys {sorted(set(state) - set(want))[:2]} that peft does not save, and "
        f"lacks {sorted(set(want) - set(state))[:2]} (peft saves {sorted(want)[:1]}, ...)",
    )
    for key, tensor in want.items():
        expect_tensor(state[key], shape=tensor.shape, dtype=torch.float32, what=key)
    config = sub.call("lora.adapter_config", llama)
    L.expect_plain_adapter(config, {}, "adapter_config(llama)")
    for field, value in {"peft_type": "LORA", "r": 3, "lora_alpha": 7.0, "use_rslora": False}.items():
        expect(
            config.get(field) == value,
            f"adapter_config: {field} is {config.get(field)!r}, expected {value!r}",
        )


@pytest.mark.points(3)
def test_adapter_loads_in_peft(sub, seed, rng):
    """the submission's adapter (lora_state_dict + adapter_config, trained weights) loads with
    PeftModel.from_pretrained on the HF LLaMA and gives the same logits, with alpha/r and with rsLoRA"""
    for targets, r, alpha, rslora in [
        (["q_proj", "k_proj", "down_proj"], 3, 5.0, False),
        (["v_proj"], 4, 3.0, True),
    ]:
        local, llama = L.llama_pair(sub, seed % 1000 + 2)
        names = _inject_llama(sub, llama, targets, r, alpha, use_rslora=rslora)
        for name in names:  # random A and B, as after training
            _set_lora(llama, rng, r, *L.LLAMA_SHAPES[name.rsplit(".", 1)[-1]], prefix=f"{name}.")
        ids = torch.randint(37, (2, 7), generator=rng)
        got = L.remote_logits(llama, ids)
        what = f"LoRA on {targets}, r={r}, alpha={alpha}, use_rslora={rslora}"
        config = sub.call("lora.adapter_config", llama)
        state = sub.call("lora.lora_state_dict", llama)
        model = L.load_in_peft(local, config, state, what)
        expect(
            not torch.allclose(L.logits(model, ids), L.logits(local, ids), atol=1e-3),
            f"{what}: the adapter loaded in peft changes nothing (B left at zero?)",
        )
        L.expect_same_logits(got, L.logits(model, ids), f"{what}: the submission's logits against peft's")


@pytest.mark.points(3)
def test_peft_adapter_loads(sub, seed, rng):
    """an adapter made by peft.get_peft_model (config and state dict as peft saves them) loads with
    load_adapter into the submission's copy of the LLaMA and gives peft's logits, before and after merge;
    one with a tensor its config's layers lack is refused with an error naming it (the handout's KeyError)"""
    for targets, r, alpha, rslora in [
        (["o_proj", "gate_proj"], 2, 5.0, False),
        (["q_proj", "v_proj"], 4, 6.0, True),
    ]:
        local, llama = L.llama_pair(sub, seed % 1000 + 3)
        oracle = L.peft_model(local, targets, r, alpha, rng, use_rslora=rslora)
        config, state = L.peft_adapter(oracle)
        sub.call("lora.load_adapter", llama, config, state)
        ids = torch.randint(37, (3, 5), generator=rng)
        want = L.logits(oracle, ids)
        what = f"a peft adapter on {targets}, r={r}, alpha={alpha}, use_rslora={rslora}"
        L.expect_same_logits(L.remote_logits(llama, ids), want, f"{what}: logits after load_adapter")
        sub.call("lora.merge_lora", llama)
        L.expect_same_logits(L.remote_logits(llama, ids), want, f"{what}: logits after merge_lora")
    local, llama = L.llama_pair(sub, seed % 1000 + 5)
    config, state = L.peft_adapter(L.peft_model(local, ["v_proj"], 2, 4.0, rng))
    extra = next(k for k in sorted(state) if ".v_proj.lora_A." in k).replace(".v_proj.", ".k_proj.")
    what = f"load_adapter of a peft adapter on ['v_proj'] with one more tensor, {extra}"
    try:
        sub.call("lora.load_adapter", llama, config, {**state, extra: torch.zeros(2, 24)})
    except CallFailed as exc:
        text = str(exc)
        expect(extra in text, f"{what}: the error should name it; it said: {text.splitlines()[0][:300]}")
        return
    raise GradeFailure(f"{what}: loaded without an error; a tensor of no LoRA layer is a mistake")


@pytest.mark.points(1)
def test_save_adapter_files(sub, seed, rng):
    """save_adapter(model, folder) writes adapter_config.json and adapter_model.safetensors that peft loads
    (read back in the submission's process, loaded here with PeftModel.from_pretrained)"""
    local, llama = L.llama_pair(sub, seed % 1000 + 4)
    names = _inject_llama(sub, llama, ["up_proj"], 2, 4.0)
    for name in names:
        _set_lora(llama, rng, 2, 24, 40, prefix=f"{name}.")
    sub.call("lora.save_adapter", llama, "adapter")
    text = sub.new("pathlib.Path", "adapter/adapter_config.json").call("read_text")
    state = sub.call("safetensors.torch.load_file", "adapter/adapter_model.safetensors")
    expect(isinstance(text, str), "adapter/adapter_config.json could not be read back as text")
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise AssertionError(f"adapter_config.json is not JSON: {exc}") from None
    model = L.load_in_peft(local, config, state, "save_adapter(llama, 'adapter')")
    ids = torch.randint(37, (2, 5), generator=rng)
    L.expect_same_logits(L.remote_logits(llama, ids), L.logits(model, ids), "logits against peft's")
