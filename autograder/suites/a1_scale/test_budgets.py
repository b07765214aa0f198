"""Task 3, memory and time budgets (15 points).

Sources (reference/llm-facts.md, A1): ZeRO (Rajbhandari et al. 2019, section 3.1): mixed-precision Adam keeps
16 bytes per parameter, so GPT-2 1.5B needs 24 GB and a 7.5B model 120 GB; Korthikanti et al. 2022 for the
activation estimate s b d (34 + 5 a s / d) per layer; GPT-3 (Brown et al. 2020): 174.6B parameters, 300B
tokens,
3.14e23 FLOPs = 3.64e3 PF-days; Chinchilla (Hoffmann et al. 2022): 70B parameters, 5.76e23 FLOPs, about 1.4T
tokens. Exact integers for bytes; relative 1e-9 for float formulas, 1% against the rounded published figures.
"""

import _oracles as O
import pytest
import torch

from autograder.checks import expect
from autograder.client import CallFailed

SETUPS = {  # weights, gradients, optimizer bytes per parameter (the handout's table)
    "fp32_adam": (4, 4, 8),
    "mixed_adam": (2, 2, 12),
    "fp32_sgd": (4, 4, 0),
    "fp32_inference": (4, 0, 0),
    "bf16_inference": (2, 0, 0),
}
GPT3 = dict(arch="gpt2", vocab_size=50257, n_positions=2048, d_model=12288, n_layers=96, n_heads=96)


def _expect_memory(got, n: int, setup: str) -> None:
    what = f"memory_bytes({n}, {setup!r})"
    expect(isinstance(got, dict), f"{what}: expected a dict, got a value of type {type(got).__name__}")
    expect(
        set(got) == {"weights", "gradients", "optimizer", "total"},
        f"{what}: expected the keys weights, gradients, optimizer, total; got {sorted(got)}",
    )
    w, g, o = SETUPS[setup]
    for key, per in (("weights", w), ("gradients", g), ("optimizer", o), ("total", w + g + o)):
        O.expect_int(got[key], per * n, what=f"{what}[{key!r}]")


@pytest.mark.points(3)
def test_memory_mixed_adam(sub, rng):
    """mixed_adam: 2 + 2 + 12 = 16 bytes per parameter (ZeRO), e.g. 24 GB for GPT-2 1.5B, 120 GB for 7.5B"""
    n = 1_000_003 + int(torch.randint(0, 1000, (1,), generator=rng))
    _expect_memory(sub.call("accounting.memory_bytes", n, "mixed_adam"), n, "mixed_adam")
    for params, gb in ((1.5e9, 24), (7.5e9, 120)):
        got = sub.call("accounting.memory_bytes", int(params), "mixed_adam")
        O.expect_int(got["total"], gb * 10**9, what=f"memory_bytes({int(params)}, 'mixed_adam')['total']")


@pytest.mark.points(2)
def test_memory_other_setups(sub, rng):
    """fp32_adam, fp32_sgd, fp32_inference and bf16_inference follow the handout's table; an unknown setup
    raises ValueError"""
    n = 777_777 + int(torch.randint(0, 1000, (1,), generator=rng))
    for setup in ("fp32_adam", "fp32_sgd", "fp32_inference", "bf16_inference"):
        _expect_memory(sub.call("accounting.memory_bytes", n, setup), n, setup)
    try:
        sub.call("accounting.memory_bytes", n, "int4_adam")
    except CallFailed as exc:
        expect(
            "ValueError" in str(exc), f"memory_bytes(n, 'int4_adam') must raise ValueError, it raised: {exc}"
        )
    else:
        expect(False, "memory_bytes(n, 'int4_adam') must raise ValueError for an unknown setup")


@pytest.mark.points(2)
def test_activation_bytes(sub, rng):
    """activation_bytes = L (34 s b d + 5 H s^2 b) (Korthikanti et al. 2022), two configs"""
    for config, s, b in (
        (
            dict(arch="gpt2", vocab_size=50257, n_positions=1024, d_model=768, n_layers=12, n_heads=12),
            1024,
            8,
        ),
        (dict(arch="llama", vocab_size=101, d_model=40, n_layers=3, n_heads=5, d_ff=72), 17, 3),
    ):
        L, d, H = config["n_layers"], config["d_model"], config["n_heads"]
        want = L * (34 * s * b * d + 5 * H * s * s * b)
        O.expect_int(
            sub.call("accounting.activation_bytes", config, s, b),
            want,
            what=f"activation_bytes(s={s}, b={b})",
        )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_gpt3_budget(sub):
    """GPT-3: train_flops(174.6B, 300B) is the published 3.14e23 FLOPs and pf_days gives 3.64e3 (Brown et
    al.)"""
    n = 174_604_259_328  # the GPT-2 architecture at GPT-3's sizes (llm-facts A1)
    flops = sub.call("compute.train_flops", n, 300e9)
    O.expect_number(flops, 3.14e23, what="train_flops(GPT-3, 300B tokens)", rtol=1e-2)
    O.expect_number(sub.call("compute.pf_days", flops), 3.64e3, what="pf_days(GPT-3's budget)", rtol=1e-2)
    O.expect_number(sub.call("compute.pf_days", 8.64e19), 1.0, what="pf_days(8.64e19)", rtol=1e-12)


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_chinchilla_tokens(sub):
    """Chinchilla: 5.76e23 FLOPs for 70B parameters buy about 1.4T tokens (D = C / 6N)"""
    got = sub.call("compute.tokens_for_budget", 5.76e23, 70e9)
    O.expect_number(got, 5.76e23 / (6 * 70e9), what="tokens_for_budget(5.76e23, 70e9)", rtol=1e-9)
    O.expect_number(got, 1.4e12, what="tokens_for_budget(5.76e23, 70e9) against Chinchilla's 1.4T", rtol=3e-2)


@pytest.mark.points(2)
def test_gpu_and_wall_clock_days(sub, rng):
    """gpu_days = C / (peak * mfu) / 86400 and wall_clock_days divides by the number of devices"""
    C = 6 * 7e9 * 2e12 * (1 + float(torch.rand(1, generator=rng)))
    peak, u = 989e12, 0.4
    want = C / (peak * u) / 86400
    O.expect_number(sub.call("compute.gpu_days", C, peak, u), want, what="gpu_days(C, 989e12, 0.4)")
    O.expect_number(
        sub.call("compute.wall_clock_days", C, 512, peak, u),
        want / 512,
        what="wall_clock_days(C, 512, 989e12, 0.4)",
    )


@pytest.mark.points(2)
def test_mfu(sub, rng):
    """mfu = tokens/s * FLOPs/token / peak, a fraction"""
    tps = 3000.0 + float(torch.randint(0, 500, (1,), generator=rng))
    fpt = 6 * 124_439_808
    O.expect_number(
        sub.call("compute.mfu", tps, fpt, 312e12), tps * fpt / 312e12, what="mfu(tokens/s, 6N, 312e12)"
    )
    O.expect_number(sub.call("compute.mfu", 1e6, 1e8, 2e14), 0.5, what="mfu(1e6, 1e8, 2e14)")
