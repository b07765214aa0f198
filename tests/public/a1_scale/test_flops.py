"""Task 2, FLOPs per token and per run (20 points).

Oracle: ``torch.utils.flop_counter.FlopCounterMode`` on forward and backward passes of Hugging Face GPT-2 and
Llama models built offline (it counts matrix products only, 2mnp each, attention as full T x T products: the
handout's convention, so the counts agree exactly).
"""

import _common as C
import pytest
import torch


@pytest.mark.points(6)
def test_forward_gpt2(sub, rng):
    """forward_flops_per_token equals FlopCounterMode / tokens for GPT-2 (B=2, T=6), with and without
    attention"""
    config = dict(arch="gpt2", vocab_size=29, n_positions=12, d_model=18, n_layers=2, n_heads=3)
    counts = C.flop_counts(C.hf_gpt2(config), torch.randint(0, 29, (2, 6), generator=rng))
    C.expect_int(
        sub.call("compute.forward_flops_per_token", config, 6), counts["total"] // 12, what="forward FLOPs"
    )
    C.expect_int(
        sub.call("compute.forward_flops_per_token", config, 6, attention=False),
        counts["matmul"] // 12,
        what="forward FLOPs with attention=False",
    )


@pytest.mark.points(6)
def test_forward_llama(sub, rng):
    """forward_flops_per_token equals FlopCounterMode for a Llama with grouped-query attention (B=3, T=5)"""
    config = dict(arch="llama", vocab_size=33, d_model=16, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=28)
    counts = C.flop_counts(C.hf_llama(config), torch.randint(0, 33, (3, 5), generator=rng))
    C.expect_int(
        sub.call("compute.forward_flops_per_token", config, 5), counts["total"] // 15, what="forward FLOPs"
    )


@pytest.mark.points(4)
def test_train_exact(sub, rng):
    """train_flops_exact equals FlopCounterMode on a forward plus backward pass (GPT-2, B=2, T=6)"""
    config = dict(arch="gpt2", vocab_size=29, n_positions=12, d_model=18, n_layers=2, n_heads=3)
    counts = C.flop_counts(C.hf_gpt2(config), torch.randint(0, 29, (2, 6), generator=rng), backward=True)
    C.expect_int(
        sub.call("compute.train_flops_exact", config, 6, 12), counts["total"], what="train_flops_exact"
    )


@pytest.mark.points(4)
def test_simple_formulas(sub):
    """matmul_flops = 2mnp, train_flops = 6ND, Kaplan's count for GPT-2 small at n_ctx = 1024"""
    C.expect_int(sub.call("compute.matmul_flops", 2, 3, 5), 60, what="matmul_flops(2, 3, 5)")
    C.expect_number(sub.call("compute.train_flops", 1e9, 2e10), 1.2e20, what="train_flops(1e9, 2e10)")
    config = dict(arch="gpt2", vocab_size=50257, n_positions=1024, d_model=768, n_layers=12, n_heads=12)
    want = 2 * (2 * 768 * 12 * (2 * 768 + 4 * 768)) + 2 * 12 * 1024 * 768
    C.expect_int(
        sub.call("compute.kaplan_flops_per_token", config, 1024), want, what="kaplan_flops_per_token"
    )
