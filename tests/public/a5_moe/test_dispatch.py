"""Task 2, dispatch (30 points).

Oracles: ceil(N * k * cf / E); queue positions in token order; the per-token loop of ``_common.loop_moe``.
Tolerance 1e-5 on outputs of order one (float32).
"""

import math

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect, expect_close, expect_equal


def _assignments(rng, N, E, k, skew=0.0):
    scores = torch.rand(N, E, generator=rng) - skew * torch.arange(E, dtype=torch.float32) / E
    return torch.sort(scores, dim=-1, descending=True, stable=True).indices[:, :k]


@pytest.mark.points(5)
def test_expert_capacity(sub):
    """expert_capacity(N, E, k, cf) = ceil(N * k * cf / E)"""
    for N, E, k, cf in [(32, 4, 2, 1.0), (9, 2, 1, 1.5)]:
        got = sub.call("moe.expert_capacity", N, E, k, cf)
        want = math.ceil(N * k * cf / E)
        expect(got == want and isinstance(got, int), f"expert_capacity({N}, {E}, {k}, {cf}) is not {want}")


@pytest.mark.points(10)
def test_queue_positions(sub, rng):
    """queue positions in token order (N=8, E=3, k=2)"""
    idx = _assignments(rng, 8, 3, 2)
    want = torch.empty(8, 2, dtype=torch.int64)
    seen = {}
    for n in range(8):
        for j in range(2):
            e = int(idx[n, j])
            want[n, j] = seen.get(e, 0)
            seen[e] = seen.get(e, 0) + 1
    expect_equal(
        sub.call("moe.queue_positions", idx, 3), want, what="queue_positions(expert_index (8, 2), 3)"
    )


@pytest.mark.points(15)
def test_dispatch_combine(sub, rng):
    """dispatch_combine equals the per-token loop, without and with capacity 3 (N=9, C=4, E=3, k=2)"""
    N, Cm, I, E, k = 9, 4, 5, 3, 2
    state = C.random_experts(rng, E, Cm, I)
    layer, _ = C.student_layer(sub, state, d_model=Cm, d_ff=I, n_experts=E, top_k=k)
    experts = layer.getattr("experts")
    x = torch.randn(N, Cm, generator=rng)
    idx = _assignments(rng, N, E, k, skew=1.0)
    gates = torch.softmax(torch.randn(N, k, generator=rng), -1)
    for cap in (None, 3):
        got = sub.call("moe.dispatch_combine", x, idx, gates, experts, capacity=cap)
        expect(isinstance(got, list) and len(got) == 2, "dispatch_combine: expected a pair (y, kept)")
        want_y, want_kept = C.loop_moe(x, idx, gates, state, capacity=cap)
        expect_equal(got[1], want_kept, what=f"dispatch_combine(..., capacity={cap}): kept")
        expect_close(got[0], want_y, atol=1e-5, what=f"dispatch_combine(..., capacity={cap}): y, N=9, C=4")
