"""Worker-side probes: a call made inside the kit's instrumentation returns raw observations of what the
submission did during it (inputs modified in place, gradients, grad and train/eval mode, devices, the global
generator, calls of watched library functions), which an ordinary call over the by-value wire cannot see."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from autograder.client import CallFailed, Limits, Submission, Zygote
from autograder.course import kit_root

MODULE = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import helper

def scale(x):
    return x * 2

def scale_in_place(x, y=None):
    x.mul_(2)
    return x

def matmul(x, w):
    return x @ w

def detached(x):
    return x.detach() * 2

def several(x, w):  # a tuple holding a dict: (hidden, {"router_logits": ..., "aux": ...})
    h = x @ w
    return h, {"router_logits": 3 * h, "aux": (h ** 2).sum()}

def no_grad_part(x, w):
    with torch.no_grad():
        u = x * 3
    return u + x @ w

def leave_grad_off(x):
    torch.set_grad_enabled(False)
    return x + 1

def ones_like_on_cpu(x):
    return x + torch.ones(x.shape[-1])

def plus_cpu_scalar(x):
    return x + torch.tensor(1.0)

def positions_on_cpu(x):
    pos = torch.arange(x.shape[-1])
    return x * 2 if pos.numel() else x

def ones_like_on_device(x):
    return x + torch.ones(x.shape[-1], device=x.device)

def global_draw(n):
    return torch.rand(n)

def own_draw(n, seed):
    return torch.rand(n, generator=torch.Generator().manual_seed(seed))

def library_attention(q, k, v):
    name = "scaled_dot_" + "product_attention"
    return getattr(F, name)(q, k, v, is_causal=True)

def attention_via_helper(q, k, v):
    return helper.attend(q, k, v)

def attention_via_ops(q, k, v):
    return torch.ops.aten.scaled_dot_product_attention(q, k, v, is_causal=True)

def own_attention(q, k, v):
    w = torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5, dim=-1)
    return w @ v

def with_module(m, x):
    return m(x)

def boom(x):
    raise ValueError("a clear message")


class Adapter(nn.Module):
    \"\"\"A frozen base and a trainable low-rank update, as in LoRA.\"\"\"

    def __init__(self):
        super().__init__()
        self.base = nn.Linear(4, 3)
        self.base.requires_grad_(False)
        self.a = nn.Parameter(torch.full((2, 4), 0.5))
        self.b = nn.Parameter(torch.ones(3, 2))

    def forward(self, x):
        return self.base(x) + x @ self.a.t() @ self.b.t()


class SwitchesToEval(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(4, 4)

    def forward(self, x):
        self.eval()
        return self.inner(x)
"""

HELPER = """
import torch.nn.functional as F

def attend(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)
"""

LIMITS = Limits(call_timeout=20, cpu_seconds=60, memory_mb=1024)
ATTENTION = ["*scaled_dot_product*", "module:torch.nn.modules.activation.MultiheadAttention"]


@pytest.fixture(scope="module")
def sub():
    folder = Path(tempfile.mkdtemp(prefix="llmkit-test-"))
    os.chmod(folder, 0o755)
    for name, text in {"mod.py": MODULE, "helper.py": HELPER}.items():
        (folder / name).write_text(text)
        os.chmod(folder / name, 0o644)
    with Zygote(hidden=[kit_root()], limits=LIMITS) as zygote:
        s = Submission(zygote, folder, LIMITS, modules=("mod.py", "helper.py"))
        yield s
        s.close()
    shutil.rmtree(folder)


def test_inputs_after_show_in_place_modification(sub):
    x, y = torch.randn(2, 3), torch.randn(4)
    r = sub.probe("mod.scale", x, observe=["inputs_after"])
    assert torch.equal(r["value"], 2 * x) and torch.equal(r["inputs_after"]["args"][0], x)
    r = sub.probe("mod.scale_in_place", x, kwargs={"y": y}, observe=["inputs_after"])
    assert torch.equal(r["inputs_after"]["args"][0], 2 * x)  # the worker's copy of x was doubled
    assert torch.equal(r["inputs_after"]["kwargs"]["y"], y)
    assert torch.equal(sub.call("mod.scale_in_place", x), 2 * x) and torch.equal(x, x.clone())  # by value


def test_gradients_of_inputs_against_the_analytic_ones(sub):
    x, w, up = torch.randn(2, 3), torch.randn(3, 5), torch.randn(2, 5)
    r = sub.probe("mod.matmul", x, w, observe=["grads"], grad_inputs=[0, 1], upstream=up)
    g = r["grads"]
    assert g["error"] is None and g["output_requires_grad"] is True
    torch.testing.assert_close(g["inputs"]["0"], up @ w.t())
    torch.testing.assert_close(g["inputs"]["1"], x.t() @ up)
    assert r["value"].requires_grad is False  # the value is plain data, as from sub.call


def test_output_selects_the_part_of_the_value_to_backpropagate(sub):
    x, w = torch.randn(2, 3), torch.randn(3, 5)
    up = torch.randn(2, 5)
    g = sub.probe("mod.several", x, w, observe=["grads"], grad_inputs=[0], upstream=up, output=0)["grads"]
    assert g["error"] is None and g["output_requires_grad"] is True
    torch.testing.assert_close(g["inputs"]["0"], up @ w.t())
    r = sub.probe(
        "mod.several", x, w, observe=["grads"], grad_inputs=[0], upstream=up, output="1.router_logits"
    )
    torch.testing.assert_close(r["grads"]["inputs"]["0"], 3 * up @ w.t())
    assert torch.equal(r["value"][1]["router_logits"], 3 * (x @ w))  # the value is still the whole return
    g = sub.probe("mod.several", x, w, observe=["grads"], grad_inputs=[0], output="1.aux")["grads"]
    torch.testing.assert_close(g["inputs"]["0"], 2 * (x @ w) @ w.t())  # d sum(h^2)/dx: a scalar, no upstream
    for bad in ("2", "1.missing", "0.0.x"):
        r = sub.probe("mod.several", x, w, observe=["grads"], grad_inputs=[0], upstream=up, output=bad)
        assert r["grads"]["error"] and r["grads"]["inputs"]["0"] is None, bad
    g = sub.probe("mod.several", x, w, observe=["grads"], grad_inputs=[0], upstream=up)["grads"]
    assert "not a tensor" in g["error"]  # without `output`, a tuple cannot be backpropagated


def test_gradients_that_never_flow_are_observed(sub):
    x, w = torch.randn(2, 3), torch.randn(3, 3)
    g = sub.probe("mod.detached", x, observe=["grads"], grad_inputs=[0], upstream=torch.ones(2, 3))["grads"]
    assert g["output_requires_grad"] is False and g["error"] and g["inputs"]["0"] is None
    up = torch.randn(2, 3)
    g = sub.probe("mod.no_grad_part", x, w, observe=["grads"], grad_inputs=[0, 1], upstream=up)["grads"]
    torch.testing.assert_close(g["inputs"]["0"], up @ w.t())  # the no_grad term adds nothing
    g = sub.probe("mod.matmul", x, kwargs={"w": w}, observe=["grads"], grad_inputs=["w"], upstream=up)
    assert set(g["grads"]["inputs"]) == {"w"}  # only what was asked for carries a gradient
    torch.testing.assert_close(g["grads"]["inputs"]["w"], x.t() @ up)


def test_parameter_gradients_and_frozen_parameters(sub):
    adapter = sub.call("mod.Adapter")
    x = torch.randn(5, 4)
    r = adapter.probe("forward", x, observe=["grads"], upstream=torch.ones(5, 3))
    grads, frozen = r["grads"]["params"]["self"], r["grads"]["requires_grad"]["self"]
    assert frozen == {"base.weight": False, "base.bias": False, "a": True, "b": True}
    assert grads["base.weight"] is None and grads["base.bias"] is None
    # d/d b of sum(x a^T b^T) = (x a^T)^T 1 summed over rows: every entry of row r is sum(x @ a[r])
    expected_b = (x @ torch.full((2, 4), 0.5).t()).sum(0).expand(3, 2)
    torch.testing.assert_close(grads["b"], expected_b)
    again = adapter.probe("forward", x, observe=["grads"], upstream=torch.ones(5, 3))["grads"]["params"]
    torch.testing.assert_close(again["self"]["b"], expected_b)  # cleared before each probe, not summed
    r = sub.probe("mod.with_module", adapter, x, observe=["grads"], upstream=torch.ones(5, 3))
    assert set(r["grads"]["params"]) == {"args.0"}


def test_grad_mode_before_during_after(sub):
    x = torch.randn(3)
    r = sub.probe("mod.leave_grad_off", x, observe=["grad_mode"], grad_enabled=True)
    # torch.set_grad_enabled is itself a torch call, seen with grad on; the addition after it with grad off
    assert r["grad_mode"] == {"before": True, "during": [True, False], "after": False}
    r = sub.probe("mod.scale", x, observe=["grad_mode"])  # the worker's own mode was restored
    assert r["grad_mode"] == {"before": True, "during": [True], "after": True}
    r = sub.probe("mod.scale", x, observe=["grad_mode"], grad_enabled=False)
    assert r["grad_mode"] == {"before": False, "during": [False], "after": False}
    sub.call("mod.leave_grad_off", x)  # an ordinary call leaves the worker with gradients off ...
    w = torch.randn(3, 2)
    r = sub.probe(
        "mod.matmul", x[None], w, observe=["grad_mode", "grads"], grad_inputs=[1], upstream=torch.ones(1, 2)
    )
    assert r["grad_mode"]["before"] is True  # ... a probe starts from gradients on all the same
    torch.testing.assert_close(r["grads"]["inputs"]["1"], x[:, None].expand(3, 2))


def test_modules_and_training_during_and_after(sub):
    m = sub.call("mod.SwitchesToEval")
    r = m.probe("__call__", torch.randn(2, 4), observe=["modules", "training"], train=True)
    seen = {(c["type"], c["training"]) for c in r["modules"]}
    assert seen == {("mod.SwitchesToEval", True), ("torch.nn.modules.linear.Linear", False)}
    assert r["training"]["self"] == {"": False, "inner": False}
    r = sub.probe(
        "mod.with_module", m, torch.randn(2, 4), observe=["training"], train=True, grad_enabled=False
    )
    assert r["training"] == {"args.0": {"": False, "inner": False}}
    plain = sub.call("torch.nn.Linear", 4, 4)
    r = sub.probe("mod.with_module", plain, torch.randn(2, 4), observe=["modules", "training"], train=True)
    assert r["modules"] == [
        {"type": "torch.nn.modules.linear.Linear", "training": True, "grad_enabled": True, "count": 1}
    ]
    assert r["training"] == {"args.0": {"": True}}


def test_meta_device_shows_tensors_made_on_another_device(sub):
    x = torch.randn(2, 3)
    r = sub.probe("mod.ones_like_on_device", x, device="meta", observe=["devices"])
    assert r["value"] == {"meta": True, "shape": [2, 3], "dtype": "float32"}
    assert set(r["devices"]) == {"meta"}
    with pytest.raises(CallFailed):  # a CPU tensor meets a meta one: the call itself fails
        sub.probe("mod.ones_like_on_cpu", torch.randn(2, 3, 4), device="meta", observe=["devices"])
    r = sub.probe("mod.positions_on_cpu", x, device="meta", observe=["devices"])
    assert r["devices"]["cpu"] == 1  # a CPU tensor the result does not depend on is still seen
    r = sub.probe("mod.plus_cpu_scalar", x, device="meta", observe=["devices"])
    assert set(r["devices"]) == {"meta"}  # a 0-d CPU tensor acts as a number on any device: not counted
    linear = sub.call("torch.nn.Linear", 3, 2)
    r = sub.probe("mod.with_module", linear, x, device="meta", observe=["devices"])
    assert r["value"]["shape"] == [2, 2] and set(r["devices"]) == {"meta"}
    r = sub.probe("mod.scale", x, dtype=torch.float64)
    assert r["value"].dtype == torch.float64


def test_global_generator(sub):
    r1 = sub.probe("mod.global_draw", 4, observe=["global_rng"], global_seed=7)
    r2 = sub.probe("mod.global_draw", 4, observe=["global_rng"], global_seed=7)
    r3 = sub.probe("mod.global_draw", 4, observe=["global_rng"], global_seed=8)
    assert r1["global_rng"] == {"advanced": True}
    assert torch.equal(r1["value"], r2["value"]) and not torch.equal(r1["value"], r3["value"])
    own = [sub.probe("mod.own_draw", 4, 3, observe=["global_rng"], global_seed=s) for s in (7, 8)]
    assert all(o["global_rng"] == {"advanced": False} for o in own)
    assert torch.equal(own[0]["value"], own[1]["value"])


@pytest.mark.parametrize("target", ["library_attention", "attention_via_helper", "attention_via_ops"])
def test_watch_counts_library_attention_however_it_is_reached(sub, target):
    q, k, v = (torch.randn(2, 3, 5, 4) for _ in range(3))
    with sub.watch(ATTENTION) as seen:
        out = sub.call(f"mod.{target}", q, k, v)
    torch.testing.assert_close(out, torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert sum(seen.values()) >= 1 and all("scaled_dot_product" in name for name in seen), seen


def test_watch_is_silent_for_own_code_and_covers_handles(sub):
    q, k, v = (torch.randn(2, 3, 5, 4) for _ in range(3))
    with sub.watch(ATTENTION) as seen:
        sub.call("mod.own_attention", q, k, v)
        mha = sub.call("torch.nn.MultiheadAttention", 4, 2, batch_first=True)
    assert seen == {}
    with sub.watch(ATTENTION) as seen:
        mha(q[0], q[0], q[0])  # a handle's call is watched too
    assert seen == {"module:torch.nn.modules.activation.MultiheadAttention": 1}
    sub.call("mod.library_attention", q, k, v)  # outside the block nothing is counted
    assert seen == {"module:torch.nn.modules.activation.MultiheadAttention": 1}
    with sub.watch(ATTENTION) as inner:  # an explicit probe inside the block is watched too
        r = sub.probe("mod.attention_via_helper", q, k, v, observe=["inputs_after"])
    assert inner == {"scaled_dot_product_attention": 1} and "inputs_after" in r
    assert seen == {"module:torch.nn.modules.activation.MultiheadAttention": 1}
    r = sub.probe("mod.attention_via_ops", q, k, v, watch=["aten.*scaled_dot*"], observe=["calls"])
    assert r["calls"] and all(name.startswith("aten.") for name in r["calls"])


def test_probe_failures(sub):
    with pytest.raises(CallFailed, match="a clear message"):
        sub.probe("mod.boom", torch.randn(2), observe=["grads"])
    with pytest.raises(CallFailed, match="unknown probe observation"):
        sub.probe("mod.scale", torch.randn(2), observe=["verdict"])
    with pytest.raises(TypeError):
        sub._probe({"target": "mod.scale"}, (torch.randn(2),), {}, None, "mod.scale", verdict=True)
    with pytest.raises(CallFailed, match="not a floating-point tensor"):
        sub.probe("mod.global_draw", 3, grad_inputs=[0])
