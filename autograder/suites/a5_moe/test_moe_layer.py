"""Task 3, the MoE layer (15 points).

Oracle: Hugging Face's ``MixtralSparseMoeBlock`` (transformers 5.x: experts as fused 3-D tensors
``gate_up_proj`` [E, 2I, C] and ``down_proj`` [E, C, I], converted to the kit's ``experts.{e}.w1/w3/w2``),
built offline from a tiny random ``MixtralConfig``; the pinned layer returns x + the block's output. With a
capacity (Mixtral has none), the per-token loop. Facts: llm-facts.md A5 (HF Mixtral). Tolerance 1e-5 on
outputs of order one (float32; observed error of a correct implementation: about 2e-7).
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import (
    expect,
    expect_close,
    expect_equal,
    expect_probe_grads,
    expect_scalar,
    expect_tensor,
)

ATOL = 1e-5


def _layer_vs_hf(sub, rng, B, T, C, I, E, k):
    block = O.hf_moe_block(rng, d_model=C, d_ff=I, n_experts=E, top_k=k)
    layer, what = O.student_layer(sub, O.kit_state_dict(block), d_model=C, d_ff=I, n_experts=E, top_k=k)
    x = torch.randn(B, T, C, generator=rng)
    want, logits = O.hf_block_output(block, x)
    got = layer(x)
    what = f"{what}(x), x of shape {(B, T, C)}"
    expect(isinstance(got, list) and len(got) == 2, f"{what}: expected a pair (out, aux)")
    out, aux = got
    expect(isinstance(aux, dict), f"{what}: aux must be a dict")
    return x, out, aux, want, logits, what


@pytest.mark.points(4)
def test_layer_matches_hf_mixtral(sub, rng):
    """MoELayer equals x + HF MixtralSparseMoeBlock with the same weights (B=2, T=5, C=6, I=7, E=4, k=2)"""
    x, out, aux, want, logits, what = _layer_vs_hf(sub, rng, 2, 5, 6, 7, 4, 2)
    expect_close(aux.get("router_logits"), logits, atol=1e-6, what=f"{what}: aux['router_logits']")
    gates, experts = O.hf_router(logits, 2)
    expect_equal(aux.get("expert_index"), experts, what=f"{what}: aux['expert_index']")
    expect_close(aux.get("gates"), gates, atol=1e-6, what=f"{what}: aux['gates']")
    expect_close(out, x + want, atol=ATOL, what=f"{what}: out (x + the MoE output)")


@pytest.mark.points(2)
def test_layer_gradients_reach_router_and_experts(sub, rng):
    """backpropagating through MoELayer gives the router (through the gates) and every expert that got tokens
    the gradients of HF's block (B=2, T=5, C=6, I=7, E=4, k=2; probe): the router learns only via the gates"""
    B, T, C, I, E, k = 2, 5, 6, 7, 4, 2
    block = O.hf_moe_block(rng, d_model=C, d_ff=I, n_experts=E, top_k=k)
    layer, what = O.student_layer(sub, O.kit_state_dict(block), d_model=C, d_ff=I, n_experts=E, top_k=k)
    x = torch.randn(B, T, C, generator=rng)
    upstream = torch.randn(B, T, C, generator=rng)
    what = f"{what}(x), x of shape {(B, T, C)}"
    r = layer.probe("forward", x, observe=["grads"], upstream=upstream, output=0)
    grads = r["grads"]
    expect(grads["error"] is None, f"backpropagating through {what}: {grads['error']}")
    block.zero_grad(set_to_none=True)
    ((x + block(x.clone())) * upstream).sum().backward()
    want = O.kit_state_dict(block, grads=True)
    _, logits = O.hf_block_output(block, x)
    used = set(O.hf_router(logits, k)[1].flatten().tolist())
    want = {n: g for n, g in want.items() if not n.startswith("experts.") or int(n.split(".")[1]) in used}
    expect_probe_grads(grads["params"]["self"], want, what=f"d sum(g * out) / d params, {what}")


@pytest.mark.points(3)
def test_layer_other_sizes(sub, rng):
    """other sizes: (B=3, T=4, C=10, I=3, E=6, k=3) and top-1 (B=1, T=7, C=5, I=6, E=3, k=1)"""
    for B, T, C, I, E, k in [(3, 4, 10, 3, 6, 3), (1, 7, 5, 6, 3, 1)]:
        x, out, _aux, want, _logits, what = _layer_vs_hf(sub, rng, B, T, C, I, E, k)
        expect_close(out, x + want, atol=ATOL, what=f"{what}: out")


@pytest.mark.points(4)
def test_layer_capacity_drops_pass_through(sub, rng):
    """capacity_factor 1.0 (B=2, T=6, C=5, E=4, k=2, router biased to experts 0 and 1, then to 0 alone):
    kept as the loop, dropped tokens pass through unchanged, drop_rate per assignment"""
    B, T, C, I, E, k = 2, 6, 5, 3, 4, 2
    base = O.random_experts(rng, E, C, I)
    x = torch.randn(B, T, C, generator=rng)
    x[..., 0] = 3.0 + 0.1 * x[..., 0]  # a shared direction in every token that the favoured experts like
    for second in (1.5, 0.0):  # 1.5: experts 0 and 1 overflow (whole tokens dropped); 0.0: only expert 0
        state = dict(base)
        state["gate.weight"] = base["gate.weight"].clone()
        state["gate.weight"][:, 0] = 0.0
        state["gate.weight"][0, 0] = 2.0
        state["gate.weight"][1, 0] = second
        layer, what = O.student_layer(
            sub, state, d_model=C, d_ff=I, n_experts=E, top_k=k, capacity_factor=1.0
        )
        got = layer(x)
        what = f"{what}(x), x of shape {(B, T, C)}, router favouring " + (
            "experts 0, 1" if second else "expert 0"
        )
        expect(isinstance(got, list) and len(got) == 2, f"{what}: expected a pair (out, aux)")
        out, aux = got
        expect(isinstance(aux, dict), f"{what}: aux must be a dict")
        tokens = x.reshape(B * T, C)
        gates, experts = O.pinned_top_k(tokens @ state["gate.weight"].T, k)
        cap = O.capacity(B * T, E, k, 1.0)
        want_y, want_kept = O.loop_moe(tokens, experts, gates, state, capacity=cap)
        assert not bool(want_kept.all()), "the test's routing should overflow"
        expect_equal(aux.get("kept"), want_kept, what=f"{what}: aux['kept'] (capacity {cap} per expert)")
        out = expect_tensor(out, shape=(B, T, C), dtype=torch.float32, what=f"{what}: out")
        expect_close(out, x + want_y.view(B, T, C), atol=ATOL, what=f"{what}: out")
        gone = (~want_kept).all(-1).view(B, T)
        if second:
            assert bool(gone.any()), "the test needs a token whose assignments are all dropped"
            expect_close(
                out[gone], x[gone], atol=0.0, what=f"{what}: out at tokens whose assignments were all dropped"
            )
        expect_scalar(
            aux.get("drop_rate"),
            float((~want_kept).float().mean()),
            atol=1e-6,
            what=f"{what}: aux['drop_rate'] (dropped assignments / (N * k))",
        )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_layer_aux_without_capacity(sub, rng):
    """without a capacity: nothing dropped, drop_rate 0.0, aux shapes and dtypes (B=2, T=3, C=4, E=5, k=2)"""
    x, _out, aux, _want, _logits, what = _layer_vs_hf(sub, rng, 2, 3, 4, 3, 5, 2)
    expect_equal(aux.get("kept"), torch.ones(6, 2, dtype=torch.bool), what=f"{what}: aux['kept']")
    expect_scalar(aux.get("drop_rate"), 0.0, atol=0.0, what=f"{what}: aux['drop_rate']")
    expect_tensor(aux.get("router_logits"), shape=(6, 5), dtype=torch.float32, what=f"{what}: router_logits")
