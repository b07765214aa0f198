"""Task 1, routing (25 points).

Oracles: Hugging Face's ``MixtralTopKRouter`` (softmax, ``torch.topk``, renormalise; on inputs without ties)
and a softmax over the chosen logits; the pinned tie-break (a stable descending sort: the lower expert index
first among equal logits); Switch's top-1 (``torch.softmax`` and its maximum); noisy top-k recomputed from the
pinned noise. Facts: llm-facts.md A5 (Mixtral, HF Mixtral, Switch, noisy top-k). Tolerance 1e-6 on gates of
order one in float32 (observed error of a correct implementation: about 1e-7), 1e-12 in float64.
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect, expect_close, expect_equal, expect_tensor

ATOL = 1e-6


def _gating(sub, logits, k, what):
    got = sub.call("router.top_k_gating", logits, k)
    expect(isinstance(got, list) and len(got) == 2, f"{what}: expected a pair (gates, experts)")
    N = logits.shape[0]
    gates = expect_tensor(got[0], shape=(N, k), dtype=logits.dtype, what=f"{what}: gates")
    experts = expect_tensor(got[1], shape=(N, k), dtype=torch.int64, what=f"{what}: experts")
    return gates, experts


@pytest.mark.points(5)
def test_top_k_matches_hf_router(sub, rng):
    """top_k_gating matches HF's MixtralTopKRouter (N=7, E=5, k=2 and N=9, E=6, k=3; no ties)"""
    for N, E, k in [(7, 5, 2), (9, 6, 3)]:
        logits = 2.0 * torch.randn(N, E, generator=rng)
        what = f"top_k_gating(logits, {k}), logits of shape ({N}, {E})"
        gates, experts = _gating(sub, logits, k, what)
        hf_gates, hf_experts = O.hf_router(logits, k)
        expect_equal(experts, hf_experts, what=f"{what}: experts (in decreasing order of the gate)")
        expect_close(gates, hf_gates, atol=ATOL, what=f"{what}: gates")


@pytest.mark.points(3)
def test_top_k_is_softmax_over_chosen(sub, rng):
    """the gates are a softmax over the chosen logits, for k = 1, 4 and 6 (N=8, E=6)"""
    logits = 1.5 * torch.randn(8, 6, generator=rng)
    for k in (1, 4, 6):
        what = f"top_k_gating(logits, {k}), logits of shape (8, 6)"
        gates, experts = _gating(sub, logits, k, what)
        expect_equal(experts, O.pinned_top_k(logits, k)[1], what=f"{what}: experts")
        expect_close(
            gates, torch.softmax(logits.gather(1, experts), dim=-1), atol=ATOL, what=f"{what}: gates"
        )


@pytest.mark.points(4)
def test_top_k_ties_lower_index_first(sub, rng):
    """equal logits are broken towards the lower expert index (N=6, E=5, k=2 and k=3, integer logits)"""
    logits = torch.tensor(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [1, 3, 3, 0, 3],
            [2, 2, 1, 1, 0],
            [0, 1, 1, 1, 1],
            [4, 0, 4, 0, 4],
            [1, 2, 3, 4, 4],
        ]
    ).float()
    logits = logits[torch.randperm(6, generator=rng)]
    for k in (2, 3):
        what = f"top_k_gating(logits, {k}) on rows of equal logits, shape (6, 5)"
        gates, experts = _gating(sub, logits, k, what)
        want_gates, want_experts = O.pinned_top_k(logits, k)
        expect_equal(
            experts, want_experts, what=f"{what}: experts (ties go to the lower index, then decreasing gate)"
        )
        expect_close(gates, want_gates, atol=ATOL, what=f"{what}: gates")


@pytest.mark.points(2)
def test_top_k_invariants_many_experts(sub, rng):
    """64 experts, k = 8 (N=11): gates sum to 1, 8 distinct experts per token, gates decreasing"""
    logits = torch.randn(11, 64, generator=rng)
    gates, experts = _gating(sub, logits, 8, "top_k_gating(logits, 8), logits of shape (11, 64)")
    expect_close(gates.sum(-1), torch.ones(11), atol=1e-5, what="the sum of each token's 8 gates")
    expect(all(len(set(r.tolist())) == 8 for r in experts), "a token got the same expert twice")
    expect(bool((gates[:, :-1] >= gates[:, 1:]).all()), "the gates of a token are not in decreasing order")
    expect_equal(experts, O.pinned_top_k(logits, 8)[1], what="top_k_gating(logits, 8): experts")


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_top_k_float64(sub, rng):
    """top_k_gating keeps float64 (N=5, E=7, k=2; tolerance 1e-12)"""
    logits = torch.randn(5, 7, generator=rng, dtype=torch.float64)
    gates, experts = _gating(sub, logits, 2, "top_k_gating(logits, 2), float64 logits of shape (5, 7)")
    want_gates, want_experts = O.pinned_top_k(logits, 2)
    expect_equal(experts, want_experts, what="top_k_gating(float64 logits, 2): experts")
    expect_close(gates, want_gates, atol=1e-12, what="top_k_gating(float64 logits, 2): gates")


@pytest.mark.points(4)
def test_switch_gating(sub, rng):
    """switch_gating: the argmax expert and its softmax probability (N=9, E=4; a row with a tie)"""
    logits = 2.0 * torch.randn(9, 4, generator=rng)
    logits[3] = torch.tensor([0.5, 1.5, 1.5, -1.0])  # a tie: expert 1 wins
    got = sub.call("router.switch_gating", logits)
    what = "switch_gating(logits), logits of shape (9, 4)"
    expect(isinstance(got, list) and len(got) == 2, f"{what}: expected a pair (gate, expert)")
    probs = torch.softmax(logits, -1)
    want_gate, want_expert = probs.max(-1)
    expect_equal(
        expect_tensor(got[1], shape=(9,), dtype=torch.int64, what=f"{what}: expert"),
        want_expert,
        what=f"{what}: expert (the argmax, the lower index on ties)",
    )
    expect_close(got[0], want_gate, atol=ATOL, what=f"{what}: gate (the chosen expert's softmax probability)")


def _noisy(sub, x, wg, wn, k, seed):
    got = sub.call("router.noisy_top_k_gating", x, wg, wn, k, seed=seed)
    what = f"noisy_top_k_gating(x, w_gate, w_noise, {k}, seed={seed}), x of shape {tuple(x.shape)}"
    expect(isinstance(got, list) and len(got) == 3, f"{what}: expected (gates, experts, logits)")
    return got, what


@pytest.mark.points(3)
def test_noisy_gating_matches_pinned_noise(sub, rng, seed):
    """noisy top-k: logits = clean + pinned noise * softplus(x @ w_noise), then top-k (N=10, C=6, E=5, k=2)"""
    x = torch.randn(10, 6, generator=rng)
    wg, wn = torch.randn(6, 5, generator=rng), torch.randn(6, 5, generator=rng)
    s = seed % 10_000
    got, what = _noisy(sub, x, wg, wn, 2, s)
    H = O.noisy_logits(x, wg, wn, s)
    expect_close(got[2], H, atol=1e-5, what=f"{what}: the noisy logits")
    want_gates, want_experts = O.pinned_top_k(H, 2)
    expect_equal(
        expect_tensor(got[1], shape=(10, 2), dtype=torch.int64, what=f"{what}: experts"),
        want_experts,
        what=f"{what}: experts",
    )
    expect_close(got[0], want_gates, atol=1e-5, what=f"{what}: gates")


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_noisy_gating_seeds(sub, rng):
    """noisy top-k: seed=None adds no noise, one seed gives one result, another seed other noise (N=6, E=4)"""
    x = torch.randn(6, 3, generator=rng)
    wg, wn = torch.randn(3, 4, generator=rng), torch.randn(3, 4, generator=rng)
    clean, what = _noisy(sub, x, wg, wn, 2, None)
    expect_close(clean[2], x @ wg, atol=1e-6, what=f"{what}: logits without noise")
    a, what_a = _noisy(sub, x, wg, wn, 2, 11)
    b, _ = _noisy(sub, x, wg, wn, 2, 11)
    c, _ = _noisy(sub, x, wg, wn, 2, 12)
    expect_close(b[2], a[2], atol=0.0, what=f"{what_a}: called twice with the same seed")
    a2 = expect_tensor(a[2], shape=(6, 4), dtype=torch.float32, what=f"{what_a}: logits")
    c2 = expect_tensor(c[2], shape=(6, 4), dtype=torch.float32, what="seed 12: logits")
    expect(not torch.allclose(a2, c2), "noisy_top_k_gating gave the same noisy logits for seeds 11 and 12")
