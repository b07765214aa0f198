"""Assertions for suites: they say what was checked and how far off the answer was, never the expected values.

Every check first verifies what came back over the wire: a plain `torch.Tensor` (the wire rebuilds tensors,
so no subclass can arrive), the dtype and the shape, then the values. Failures raise `GradeFailure`, whose
message is the whole feedback a student sees for that test.

A large reply arrives with `wire.DeferredTensor`s in place of its tensors (see `client.DEFER_OVER`): the
checks compare their shape and dtype with the expected ones first and read the bytes only when both agree,
so a reply far larger than the test expects costs the trusted side nothing.
"""

from __future__ import annotations

import ast
from typing import Any

import torch

from autograder import wire


class GradeFailure(AssertionError):
    """A check failed; the message is shown to the student as it is."""


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, wire.DeferredTensor):
        kind = "a tensor" if value.kind == "tensor" else "an array"
        return f"{kind} of shape {value.shape} ({_mib(value)})"
    name = getattr(value, "type_name", None)
    return f"an object of type {name}" if name else f"a value of type {type(value).__name__}"


def expect_tensor(
    got: Any, *, shape: tuple[int, ...] | torch.Size, dtype: torch.dtype | None = None, what: str
) -> torch.Tensor:
    """`got` must be a tensor of `shape` (and `dtype` when given). A deferred tensor of a large reply is
    read only once its shape and dtype (known from the reply's header) are the expected ones."""
    if isinstance(got, wire.DeferredTensor) and got.kind == "tensor":
        if got.shape != tuple(shape):
            raise GradeFailure(
                f"{what}: expected shape {tuple(shape)}, got shape {got.shape} ({_mib(got)}, not read)"
            )
        if dtype is not None and got.torch_dtype != dtype:
            raise GradeFailure(
                f"{what}: expected dtype {dtype}, got {got.torch_dtype} ({_mib(got)}, not read)"
            )
        try:
            got = got.materialize()
        except wire.WireError as exc:
            raise GradeFailure(f"{what}: {exc}") from None
    if type(got) is not torch.Tensor:
        raise GradeFailure(f"{what}: expected a tensor of shape {tuple(shape)}, got {_describe(got)}")
    if tuple(got.shape) != tuple(shape):
        raise GradeFailure(f"{what}: expected shape {tuple(shape)}, got shape {tuple(got.shape)}")
    if dtype is not None and got.dtype != dtype:
        raise GradeFailure(f"{what}: expected dtype {dtype}, got {got.dtype}")
    return got


def _mib(value: wire.DeferredTensor) -> str:
    return f"{value.nbytes / (1 << 20):.0f} MiB"


def expect_close(
    got: Any,
    expected: torch.Tensor,
    *,
    what: str,
    atol: float,
    rtol: float = 0.0,
    mask: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
) -> None:
    """Element-wise |got - expected| <= atol + rtol * |expected| (where `mask` is True, if given).

    `dtype` defaults to the expected tensor's dtype. Non-finite values must match exactly in position.
    """
    got = expect_tensor(got, shape=expected.shape, dtype=dtype or expected.dtype, what=what)
    got64, exp64 = got.double(), expected.double()
    if mask is not None:
        mask = mask.expand_as(exp64)
        got64, exp64 = got64[mask], exp64[mask]
    finite = torch.isfinite(exp64)
    if not torch.equal(torch.isfinite(got64), finite):
        bad = int((torch.isfinite(got64) != finite).sum())
        raise GradeFailure(
            f"{what}: {bad} of {exp64.numel()} values are NaN/inf where they should not be "
            f"(or finite where they should not be), shape {tuple(expected.shape)}"
        )
    if not torch.equal(got64[~finite], exp64[~finite]):
        raise GradeFailure(f"{what}: infinite values have the wrong sign, shape {tuple(expected.shape)}")
    err = (got64[finite] - exp64[finite]).abs()
    bound = atol + rtol * exp64[finite].abs()
    over = err > bound
    if bool(over.any()):
        raise GradeFailure(
            f"{what}: shape {tuple(expected.shape)}, {int(over.sum())} of {err.numel()} values off; "
            f"max abs error {float(err.max()):.3g} (allowed {atol:g}"
            + (f" + {rtol:g}*|expected|)" if rtol else ")")
        )


def expect_equal(got: Any, expected: torch.Tensor, *, what: str) -> None:
    """Exact equality of integer or boolean tensors (token ids, masks)."""
    got = expect_tensor(got, shape=expected.shape, dtype=expected.dtype, what=what)
    if not torch.equal(got, expected):
        wrong = int((got != expected).sum())
        raise GradeFailure(
            f"{what}: shape {tuple(expected.shape)}, {wrong} of {expected.numel()} entries differ"
        )


def expect_scalar(got: Any, expected: float, *, what: str, atol: float, rtol: float = 0.0) -> float:
    """A Python number or a 0-d tensor close to `expected`; returns it as float."""
    if type(got) is torch.Tensor and got.dim() == 0:
        value = float(got)
    elif isinstance(got, int | float) and not isinstance(got, bool):
        value = float(got)
    else:
        raise GradeFailure(f"{what}: expected a number or a 0-d tensor, got {_describe(got)}")
    if not abs(value - expected) <= atol + rtol * abs(expected):
        raise GradeFailure(
            f"{what}: off by {abs(value - expected):.3g} (allowed {atol:g}"
            + (f" + {rtol:g}*|expected|)" if rtol else ")")
        )
    return value


def expect_probe_grads(
    got: dict, expected: dict[str, torch.Tensor], *, what: str, rtol: float = 1e-4
) -> None:
    """``got`` (a probe's ``{name: grad or None}``) holds, for every name of ``expected``, a gradient close to
    it: a gradient that never arrived (None) means the computation was cut from the graph (``detach``,
    ``no_grad``, a copy)."""
    expect(isinstance(got, dict), f"{what}: the gradient observation is malformed")
    missing = sorted(name for name in expected if got.get(name) is None)
    expect(
        not missing,
        f"{what}: no gradient reached {', '.join(missing[:5])}"
        + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        + " (a part of the computation is cut from the autograd graph: detach, torch.no_grad or .data)",
    )
    for name, g in expected.items():
        scale = float(g.abs().max()) if g.numel() else 0.0
        expect_close(
            got[name], g, atol=1e-5 + rtol * scale, rtol=rtol, what=f"{what}: the gradient of {name}"
        )


def forbidden_names(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) of every use of one of `names` in `source`, as a bare name, an attribute or an import.

    Read as text on the trusted side (never imported). A determined student can hide a call from any static
    check; this one catches honest mistakes, and the handout says the rule."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute) and node.attr in names:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.alias) and node.name.rsplit(".", 1)[-1] in names:
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            found.append((node.lineno, node.value))
    return sorted(set(found))


def expect_not_used(source: str, names: set[str], *, where: str) -> None:
    """`source` (a submitted file's text) must not use any of `names`."""
    found = forbidden_names(source, names)
    if found:
        uses = ", ".join(f"{name} (line {line})" for line, name in found[:5])
        raise GradeFailure(f"{where} uses what this task must build itself: {uses}")


def expect(condition: bool, message: str) -> None:
    """A plain condition with the message to show when it fails."""
    if not condition:
        raise GradeFailure(message)
