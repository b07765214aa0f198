"""Worker-side probes: kit-written instrumentation around one call into a submission.

The wire copies tensors by value, so an ordinary call cannot show what a submission does *to* its inputs or
*inside* the call: an input modified in place, gradients that never flow, the grad mode or train/eval mode
seen by its modules, tensors created on another device than the inputs', a draw from the global generator, a
library function it was told not to use. A probe makes the call in the worker, set up and watched by the code
below, and returns the call's value together with **raw observations** as plain data. It never returns a
verdict: the submission controls this process, so the trusted test compares the observations with its own
oracle (and a submission that tampers with them can at worst fail its own tests).

The request (``op: "probe"``) names the call like ``call`` or ``method`` do, plus::

    observe: list of observation names (OBSERVATIONS)
    options: {upstream, output, grad_inputs, watch, device, dtype, global_seed, grad_enabled, train}

"Modules of the call" are the receiver of a method probe (key ``"self"``) and every ``nn.Module`` among the
top-level arguments (keys ``"args.0"``, ..., ``"kwargs.<name>"``). The trusted side's API and the meaning of
each observation are documented in ``client.Submission.probe``.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from typing import Any

import torch
import torch.fx.experimental.symbolic_shapes  # noqa: F401 - meta kernels import it lazily
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from autograder import wire

OBSERVATIONS = (
    "inputs_after",
    "grads",
    "grad_mode",
    "modules",
    "training",
    "global_rng",
    "devices",
    "calls",
)
OPTIONS = (
    "upstream",
    "output",
    "grad_inputs",
    "watch",
    "device",
    "dtype",
    "global_seed",
    "grad_enabled",
    "train",
)
_DTYPES = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
_MAX_EVENTS = 200  # distinct watched names / module kinds reported (a reply stays small whatever is called)


# ---------------------------------------------------------------------------------------------- recording


class _Recorder(TorchFunctionMode):
    """Sees every torch function and tensor method called from Python during the call (one level: what runs
    inside a library function is not seen), and records what the observations ask for."""

    def __init__(self, patterns: list[str], grad_modes: bool, devices: bool) -> None:
        super().__init__()
        self.patterns = patterns
        self.calls: Counter[str] = Counter()
        self.grad_modes: list[bool] | None = [] if grad_modes else None
        self.devices: Counter[str] | None = Counter() if devices else None

    def note(self, name: str) -> None:
        if (name in self.calls or len(self.calls) < _MAX_EVENTS) and _matches(name, self.patterns):
            self.calls[name] += 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if self.grad_modes is not None:
            mode = torch.is_grad_enabled()
            if mode not in self.grad_modes:
                self.grad_modes.append(mode)
        if self.patterns:
            self.note(str(getattr(func, "__name__", "")))
        out = func(*args, **(kwargs or {}))
        if self.devices is not None:
            for t in _tensors_in(out):
                if t.dim() > 0:  # a 0-d CPU tensor combines with tensors on any device, as a number does
                    self.devices[str(t.device)] += 1
        return out


class _AtenRecorder(TorchDispatchMode):
    """Sees every aten operator that reaches the dispatcher (below autograd), named ``aten.<op>``."""

    def __init__(self, recorder: _Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.recorder.note(f"aten.{func.overloadpacket.__name__}")
        return func(*args, **(kwargs or {}))


def _warm_meta() -> None:
    """Run the common operators once on the meta device while the fork server starts: their meta kernels
    import modules lazily, and a confined worker can no longer read the files they live in."""
    x = torch.empty(2, 3, 4, device="meta")
    w = torch.empty(4, 4, device="meta")
    scores = torch.nn.functional.linear(x, w) @ x.transpose(-2, -1)
    keep = torch.ones(3, 3, dtype=torch.bool, device="meta").tril()
    torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1).exp().amax(-1, keepdim=True)
    torch.nn.functional.layer_norm(x, (4,), w[0], w[0])
    torch.nn.functional.gelu(x, approximate="tanh")
    torch.nn.functional.embedding(torch.arange(3, device="meta"), w)
    torch.cat([x, x], dim=1).view(2, 6, 2, 2).reshape(2, -1).split(2, dim=-1)


_warm_meta()


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value[:64] if isinstance(v, torch.Tensor)]  # e.g. split, topk, sort
    return []


def _module_name(module: torch.nn.Module) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------------------------------------- the probe


def run(worker: Any, request: dict) -> dict:
    """Make the call the request names, set up and watched as it asks; {"value": ..., observation: ...}."""
    observe = [str(o) for o in request.get("observe", [])]
    unknown = sorted(set(observe) - set(OBSERVATIONS))
    options = dict(request.get("options", {}))
    unknown += sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown probe observation or option: {unknown}")

    receiver = None
    if "handle" in request:
        receiver = worker.resolve(wire.Handle(int(request["handle"]), "?"))
        fn = getattr(receiver, str(request["name"]))
    else:
        fn = worker.target(str(request["target"]))
    args = list(worker.resolve(request.get("args", [])))
    kwargs = dict(worker.resolve(request.get("kwargs", {})))

    modules: dict[str, torch.nn.Module] = {}
    if isinstance(receiver, torch.nn.Module):
        modules["self"] = receiver
    for i, a in enumerate(args):
        if isinstance(a, torch.nn.Module):
            modules[f"args.{i}"] = a
    for key, a in kwargs.items():
        if isinstance(a, torch.nn.Module):
            modules[f"kwargs.{key}"] = a

    # ---- set-up, in the worker, before the call
    device = options.get("device")
    dtype = _DTYPES[options["dtype"]] if options.get("dtype") is not None else None
    if device is not None or dtype is not None:
        args = [_convert(a, device, dtype) for a in args]
        kwargs = {k: _convert(a, device, dtype) for k, a in kwargs.items()}
        for m in modules.values():
            m.to(**({"device": device} if device is not None else {}), **({"dtype": dtype} if dtype else {}))
    grad_inputs = {}
    for ref in options.get("grad_inputs") or []:
        container, key = (args, int(ref)) if isinstance(ref, int) else (kwargs, str(ref))
        t = container[key]
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise ValueError(f"grad_inputs: argument {ref!r} is not a floating-point tensor")
        container[key] = t.detach().requires_grad_(True)
        grad_inputs[str(ref)] = container[key]
    if "grads" in observe:
        for m in modules.values():
            for p in m.parameters():
                p.grad = None
    if options.get("train") is not None:
        for m in modules.values():
            m.train(bool(options["train"]))
    sent_args, sent_kwargs = list(args), dict(kwargs)  # the very tensors the call receives

    patterns = [str(p) for p in options.get("watch") or []]
    recorder = _Recorder(patterns, "grad_mode" in observe, "devices" in observe)
    module_calls: Counter[tuple[str, bool, bool]] = Counter()

    def on_module_call(module: torch.nn.Module, _inputs: Any) -> None:
        name = _module_name(module)
        if patterns:
            recorder.note(f"module:{name}")
        key = (name, bool(module.training), torch.is_grad_enabled())
        if "modules" in observe and (key in module_calls or len(module_calls) < _MAX_EVENTS):
            module_calls[key] += 1

    worker_grad_mode = torch.is_grad_enabled()
    if options.get("global_seed") is not None:
        torch.manual_seed(int(options["global_seed"]))
    # the call starts with gradients on (a fresh process's mode) unless asked otherwise, whatever an earlier
    # call left behind
    grad_enabled = options.get("grad_enabled")
    torch.set_grad_enabled(True if grad_enabled is None else bool(grad_enabled))
    grad_before = torch.is_grad_enabled()
    rng_before = torch.get_rng_state() if "global_rng" in observe else None
    hook = torch.nn.modules.module.register_module_forward_pre_hook(on_module_call)
    aten = _AtenRecorder(recorder) if any(p.startswith("aten.") for p in patterns) else None
    try:
        if aten is not None:
            with aten, recorder:
                value = fn(*args, **kwargs)
        else:
            with recorder:
                value = fn(*args, **kwargs)
    finally:
        hook.remove()
        grad_after = torch.is_grad_enabled()
        torch.set_grad_enabled(worker_grad_mode)

    # ---- observations, after the call
    result: dict[str, Any] = {}
    if "global_rng" in observe:
        result["global_rng"] = {"advanced": not torch.equal(torch.get_rng_state(), rng_before)}
    if "grad_mode" in observe:
        result["grad_mode"] = {"before": grad_before, "during": recorder.grad_modes, "after": grad_after}
    if "modules" in observe:
        result["modules"] = [
            {"type": name, "training": training, "grad_enabled": grad, "count": n}
            for (name, training, grad), n in module_calls.items()
        ]
    if "calls" in observe:
        result["calls"] = dict(recorder.calls)
    if "devices" in observe:
        result["devices"] = dict(recorder.devices or {})
    if "inputs_after" in observe:
        result["inputs_after"] = {
            "args": [_snapshot(a) for a in sent_args],
            "kwargs": {k: _snapshot(a) for k, a in sent_kwargs.items()},
        }
    if "training" in observe:
        result["training"] = {
            key: {name: bool(sub.training) for name, sub in m.named_modules()} for key, m in modules.items()
        }
    if "grads" in observe:
        result["grads"] = _backward(
            value, options.get("upstream"), grad_inputs, modules, options.get("output")
        )
    result["value"] = _plain(value)
    return result


def select_output(value: Any, output: int | str | None) -> Any:
    """The part of a returned tuple, list, dict or object that `output` names: ``0``, ``"logits"``,
    ``"0.router_logits"`` (parts separated by dots: an index into a tuple or list, else a key of a mapping
    (or an index, for a Hugging Face ``ModelOutput``), else an attribute). None: the value itself."""
    if output is None:
        return value
    for part in str(output).split("."):
        if isinstance(value, list | tuple):
            if not part.lstrip("-").isdigit():
                raise TypeError(f"output {output!r}: {part!r} is not an index into a {type(value).__name__}")
            value = value[int(part)]
        elif isinstance(value, dict):  # a ModelOutput also takes an index
            value = value[int(part)] if part not in value and part.lstrip("-").isdigit() else value[part]
        else:
            value = getattr(value, part)
    return value


def _backward(value: Any, upstream: Any, grad_inputs: dict, modules: dict, output: Any = None) -> dict:
    """Backpropagate sum(selected * upstream) (or the selected part itself, when it is a scalar) and read
    every gradient that arrived; `output` selects the part of the value (see `select_output`)."""
    out: dict[str, Any] = {"output_requires_grad": False, "error": None}
    try:
        value = select_output(value, output)
        out["output_requires_grad"] = isinstance(value, torch.Tensor) and value.requires_grad
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"the call returned {type(value).__name__}, not a tensor")
        with torch.enable_grad():
            if upstream is None:
                value.backward()
            else:
                if not isinstance(upstream, torch.Tensor) or upstream.shape != value.shape:
                    raise ValueError("upstream must be a tensor shaped like the output")
                (value * upstream.to(device=value.device, dtype=value.dtype)).sum().backward()
    except Exception as exc:  # noqa: BLE001 - reported as an observation; the trusted side judges it
        out["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
    out["inputs"] = {k: _snapshot(t.grad) for k, t in grad_inputs.items()}
    out["params"] = {
        key: {name: _snapshot(p.grad) for name, p in m.named_parameters()} for key, m in modules.items()
    }
    out["requires_grad"] = {
        key: {name: bool(p.requires_grad) for name, p in m.named_parameters()} for key, m in modules.items()
    }
    return out


def _convert(value: Any, device: Any, dtype: torch.dtype | None) -> Any:
    if not isinstance(value, torch.Tensor):
        return value
    if dtype is not None and value.is_floating_point():
        value = value.to(dtype)
    return value.to(device) if device is not None else value


def _snapshot(value: Any) -> Any:
    """A tensor as it is now (a copy, so that later calls cannot change it), None for anything else."""
    if not isinstance(value, torch.Tensor):
        return None
    return _plain(value.detach().clone())


def _plain(value: Any, depth: int = 0) -> Any:
    """Tensors without data (meta device) become a description; everything else is left to the wire."""
    if isinstance(value, torch.Tensor) and value.device.type == "meta":
        return {"meta": True, "shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch.")}
    if depth < 8 and isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if depth < 8 and isinstance(value, dict):
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    return value
