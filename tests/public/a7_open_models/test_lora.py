"""Problem 4, lora (public tests): the hidden suite's oracles on other shapes and seeds, fewer edge cases.

Oracles: the LoRA formula y = W0 x + b + s * B A x with s = alpha / r (alpha / sqrt(r) with rsLoRA), and
peft 0.21.2: your adapter must load with ``peft.PeftModel.from_pretrained`` on the same tiny random LLaMA and
give the same logits, and a peft-made adapter must load into your model (see ``_lora_common.py``).
Tolerances: 1e-5 on layer outputs, 1e-4 on logits (float32).
"""

import math

import _lora_common as L
import pytest
import torch

from autograder.checks import expect, expect_close

ATOL = 1e-5


def _set_lora(module, rng, r, d_in, d_out, prefix=""):
    A = torch.randn(r, d_in, generator=rng) * 0.4
    B = torch.randn(d_out, r, generator=rng) * 0.4
    module.call("load_state_dict", {f"{prefix}lora_A.weight": A, f"{prefix}lora_B.weight": B}, strict=False)
    return A, B


@pytest.mark.points(2)
def test_forward_and_rslora(sub, rng):
    """LoRALinear(Linear(6, 4), r=2, alpha=3): y = W0 x + b + s B A x, s = 1.5 (rsLoRA: 3/sqrt(2))"""
    for rslora in (False, True):
        base, remote = L.linear_pair(sub, rng, 6, 4)
        module = sub.new("lora.LoRALinear", remote, 2, 3.0, use_rslora=rslora)
        x = torch.randn(5, 6, generator=rng)
        with torch.no_grad():
            expect_close(module(x), base(x), atol=ATOL, what="LoRALinear(x) at init (B = 0)")
        A, B = _set_lora(module, rng, 2, 6, 4)
        s = 3.0 / math.sqrt(2) if rslora else 1.5
        with torch.no_grad():
            want = base(x) + s * (x @ A.T) @ B.T
        expect_close(module(x), want, atol=ATOL, what=f"LoRALinear(x), use_rslora={rslora}, scaling {s:.4f}")


@pytest.mark.points(2)
def test_merge_twice_and_unmerge(sub, rng):
    """merge twice = merge once (same outputs); unmerge restores the base weight (Linear(5, 3), r=2)"""
    base, remote = L.linear_pair(sub, rng, 5, 3)
    module = sub.new("lora.LoRALinear", remote, 2, 4.0)
    A, B = _set_lora(module, rng, 2, 5, 3)
    x = torch.randn(4, 5, generator=rng)
    want = module(x)
    module.call("merge")
    module.call("merge")
    expect_close(module(x), want, atol=ATOL, what="LoRALinear(x) after merging twice")
    module.call("unmerge")
    got = module.getattr("base_layer").getattr("weight")
    expect_close(got, base.weight.detach(), atol=ATOL, what="base_layer.weight after merge, merge, unmerge")


@pytest.mark.points(2)
def test_inject_and_count(sub, rng):
    """inject_lora(toy, ["qq_proj", "embed_proj"]) wraps exactly those; trainable = r (in + out) each"""
    local, toy = L.toy_pair(sub, rng)
    names = sub.call("lora.inject_lora", toy, ["qq_proj", "embed_proj"], 2, 2.0)
    expect(names == ["block.qq_proj", "embed_proj"], f"inject_lora replaced {names}")
    got = sub.call("lora.count_parameters", toy)
    extra = 2 * (6 + 6) + 2 * (5 + 7)
    want = {"trainable": extra, "total": sum(p.numel() for p in local.parameters()) + extra}
    expect(got == want, f"count_parameters gave {got}, expected {want}")


@pytest.mark.points(2)
def test_adapter_loads_in_peft(sub, rng):
    """your adapter (q_proj and o_proj, r=2, alpha=4, random A and B) loads in peft: same logits"""
    local, llama = L.llama_pair(sub, 11)
    names = sub.call("lora.inject_lora", llama, ["q_proj", "o_proj"], 2, 4.0)
    for name in names:
        _set_lora(llama, rng, 2, *L.LLAMA_SHAPES[name.rsplit(".", 1)[-1]], prefix=f"{name}.")
    ids = torch.randint(37, (2, 6), generator=rng)
    config = sub.call("lora.adapter_config", llama)
    model = L.load_in_peft(local, config, sub.call("lora.lora_state_dict", llama), "your adapter")
    L.expect_same_logits(L.remote_logits(llama, ids), L.logits(model, ids), "your logits against peft's")


@pytest.mark.points(2)
def test_peft_adapter_loads(sub, rng):
    """a peft adapter (v_proj and up_proj, r=3, alpha=2) loads with load_adapter: peft's logits"""
    local, llama = L.llama_pair(sub, 12)
    config, state = L.peft_adapter(L.peft_model(local, ["v_proj", "up_proj"], 3, 2.0, rng))
    oracle = L.load_in_peft(local, config, state, "the peft adapter")
    sub.call("lora.load_adapter", llama, config, state)
    ids = torch.randint(37, (3, 4), generator=rng)
    L.expect_same_logits(L.remote_logits(llama, ids), L.logits(oracle, ids), "logits after load_adapter")
