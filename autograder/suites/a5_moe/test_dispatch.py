"""Task 2, dispatch (30 points): capacity, queue positions, dispatch-combine.

Oracles: ``math.ceil(N * k * cf / E)`` (the kit's pinned capacity, llm-facts.md "Pinned conventions",
Capacity); queue positions counted one assignment at a time in token order; the MoE computed one token at a
time (``loop_moe``), the second path. Worker-side probe: the number of calls of the given ``Expert`` modules
during one ``dispatch_combine``. Tolerance 1e-5 on outputs of order one (float32), 1e-12 in float64.
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect, expect_close, expect_equal, expect_scalar, expect_tensor

ATOL = 1e-5


@pytest.mark.points(5)
def test_expert_capacity(sub):
    """expert_capacity = ceil(N * k * cf / E) for divisible and non-divisible sizes"""
    for N, E, k, cf in [
        (64, 8, 2, 1.0),
        (12, 4, 1, 1.25),
        (10, 4, 2, 1.0),
        (30, 8, 2, 1.5),
        (7, 3, 1, 2.0),
        (5, 16, 2, 1.0),
    ]:
        got = sub.call("moe.expert_capacity", N, E, k, cf)
        expect(
            isinstance(got, int) and not isinstance(got, bool),
            f"expert_capacity({N}, {E}, {k}, {cf}): expected an int, got {type(got).__name__}",
        )
        expect_scalar(got, O.capacity(N, E, k, cf), atol=0, what=f"expert_capacity({N}, {E}, {k}, {cf})")


@pytest.mark.points(6)
def test_queue_positions(sub, rng):
    """queue_positions counts the earlier tokens routed to the same expert (N=13, E=5, k=2; N=9, E=6, k=3)"""
    for N, E, k in [(13, 5, 2), (9, 6, 3)]:
        idx = O.random_assignments(rng, N, E, k, skew=1.0)
        expect_equal(
            sub.call("moe.queue_positions", idx, E),
            O.queue_loop(idx),
            what=f"queue_positions(expert_index, {E}), expert_index of shape ({N}, {k}), token order",
        )


def _setup(sub, rng, N, C, I, E, k, skew=0.0, dtype=torch.float32):
    state = O.random_experts(rng, E, C, I)
    layer, _ = O.student_layer(sub, state, d_model=C, d_ff=I, n_experts=E, top_k=k)
    if dtype == torch.float64:
        layer.call("double")
        state = {name: w.double() for name, w in state.items()}
    x = torch.randn(N, C, generator=rng, dtype=dtype)
    idx = O.random_assignments(rng, N, E, k, skew=skew)
    gates = torch.softmax(torch.randn(N, k, generator=rng, dtype=dtype), -1)
    return layer.getattr("experts"), state, x, idx, gates


def _dispatch(sub, experts, x, idx, gates, capacity, what):
    got = sub.call("moe.dispatch_combine", x, idx, gates, experts, capacity=capacity)
    expect(isinstance(got, list) and len(got) == 2, f"{what}: expected a pair (y, kept)")
    return got


@pytest.mark.points(6)
def test_dispatch_matches_loop(sub, rng):
    """dispatch_combine without a capacity equals the per-token loop (N=11, C=6, I=5, E=4, k=2)"""
    experts, state, x, idx, gates = _setup(sub, rng, 11, 6, 5, 4, 2)
    what = "dispatch_combine(x, expert_index, gates, experts), N=11, C=6, E=4, k=2, no capacity"
    y, kept = _dispatch(sub, experts, x, idx, gates, None, what)
    want_y, _ = O.loop_moe(x, idx, gates, state)
    expect_equal(kept, torch.ones(11, 2, dtype=torch.bool), what=f"{what}: kept (all, without a capacity)")
    expect_close(y, want_y, atol=ATOL, what=f"{what}: y")


@pytest.mark.points(6)
def test_dispatch_with_capacity(sub, rng):
    """with a capacity, the first assignments of each queue in token order are kept (N=12, E=4, k=2, cap 4)"""
    experts, state, x, idx, gates = _setup(sub, rng, 12, 5, 3, 4, 2, skew=1.5)
    for cap in (4, 2):
        what = f"dispatch_combine(..., capacity={cap}), N=12, C=5, E=4, k=2, routing skewed to low experts"
        y, kept = _dispatch(sub, experts, x, idx, gates, cap, what)
        want_y, want_kept = O.loop_moe(x, idx, gates, state, capacity=cap)
        assert not bool(want_kept.all()), "the test's routing should overflow"
        expect_equal(kept, want_kept, what=f"{what}: kept")
        expect_close(y, want_y, atol=ATOL, what=f"{what}: y (dropped assignments contribute nothing)")


@pytest.mark.points(4)
def test_dispatch_runs_each_expert_once(sub, rng):
    """each expert runs at most once per call, on all its tokens at once (N=40, E=4, k=2; calls counted)"""
    experts, state, x, idx, gates = _setup(sub, rng, 40, 6, 4, 4, 2)
    r = sub.probe(
        "moe.dispatch_combine",
        x,
        idx,
        gates,
        experts,
        kwargs={"capacity": None},
        observe=["calls"],
        watch=["module:moe.Expert"],
    )
    calls = int(r["calls"].get("module:moe.Expert", 0))
    expect(
        1 <= calls <= 4,
        f"dispatch_combine with 40 tokens, 4 experts and k=2 called the experts {calls} times; each expert "
        f"must run once on all its tokens (at most 4 calls), not once per token",
    )
    value = r["value"]
    expect(isinstance(value, list) and len(value) == 2, "dispatch_combine: expected a pair (y, kept)")
    expect_close(
        value[0], O.loop_moe(x, idx, gates, state)[0], atol=ATOL, what="dispatch_combine(...): y, N=40"
    )


@pytest.mark.points(3)
@pytest.mark.visibility("after_due_date")
def test_dispatch_unused_expert_float64(sub, rng):
    """an expert that receives no token, in float64 (N=7, C=4, E=5, k=2, expert 4 unused; tolerance 1e-12)"""
    experts, state, x, idx, gates = _setup(sub, rng, 7, 4, 3, 5, 2, dtype=torch.float64)
    idx = O.random_assignments(rng, 7, 4, 2)  # experts 0..3 only
    what = "dispatch_combine(...), float64, N=7, E=5, expert 4 receives nothing"
    y, kept = _dispatch(sub, experts, x, idx, gates, 3, what)
    want_y, want_kept = O.loop_moe(x, idx, gates, state, capacity=3)
    expect_equal(kept, want_kept, what=f"{what}: kept (capacity 3)")
    expect_close(y, want_y, atol=1e-12, what=f"{what}: y")
    expect_tensor(y, shape=(7, 4), dtype=torch.float64, what=f"{what}: y")
