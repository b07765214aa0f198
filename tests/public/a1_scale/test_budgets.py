"""Task 3, memory and time budgets (15 points).

Sources: ZeRO (Rajbhandari et al. 2019, section 3.1), 16 bytes per parameter for mixed-precision Adam;
Korthikanti et al. 2022 for activations; 1 PF-day = 8.64e19 FLOPs.
"""

import _common as C
import pytest


@pytest.mark.points(6)
def test_memory(sub):
    """memory_bytes: mixed_adam is 2 + 2 + 12 bytes per parameter, bf16_inference 2 + 0 + 0"""
    got = sub.call("accounting.memory_bytes", 1000, "mixed_adam")
    for key, want in (("weights", 2000), ("gradients", 2000), ("optimizer", 12000), ("total", 16000)):
        C.expect_int(got[key], want, what=f"memory_bytes(1000, 'mixed_adam')[{key!r}]")
    C.expect_int(
        sub.call("accounting.memory_bytes", 1000, "bf16_inference")["total"], 2000, what="bf16_inference"
    )


@pytest.mark.points(4)
def test_activations(sub):
    """activation_bytes = L (34 s b d + 5 H s^2 b)"""
    config = dict(arch="gpt2", vocab_size=29, n_positions=64, d_model=32, n_layers=3, n_heads=4)
    want = 3 * (34 * 16 * 2 * 32 + 5 * 4 * 16 * 16 * 2)
    C.expect_int(
        sub.call("accounting.activation_bytes", config, 16, 2), want, what="activation_bytes(s=16, b=2)"
    )


@pytest.mark.points(5)
def test_time(sub):
    """pf_days, gpu_days, wall_clock_days, mfu and tokens_for_budget on hand-worked numbers"""
    C.expect_number(sub.call("compute.pf_days", 8.64e20), 10.0, what="pf_days(8.64e20)")
    C.expect_number(
        sub.call("compute.gpu_days", 8.64e19, 1e15, 0.5), 2.0, what="gpu_days(8.64e19, 1e15, 0.5)"
    )
    C.expect_number(sub.call("compute.wall_clock_days", 8.64e19, 4, 1e15, 0.5), 0.5, what="wall_clock_days")
    C.expect_number(sub.call("compute.mfu", 2e3, 6e9, 1e14), 0.12, what="mfu(2e3, 6e9, 1e14)")
    C.expect_number(
        sub.call("compute.tokens_for_budget", 6e21, 1e9), 1e12, what="tokens_for_budget(6e21, 1e9)"
    )
