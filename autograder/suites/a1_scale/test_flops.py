"""Task 2, FLOPs per token and per run (20 points).

Oracle: ``torch.utils.flop_counter.FlopCounterMode`` on forward (and forward plus backward) passes of Hugging
Face GPT-2 and Llama models built offline from the same configs (eager attention). It counts matrix products
only, 2mnp each, and the attention products as full T x T batched products: the handout's convention, so the
counts agree exactly (no tolerance). Its ``bmm`` entries are the attention products q k^T and weights v; the
rest are the weight matrices. MoE configs: the invariant "forward FLOPs without attention = 2 x active matrix
parameters" (Kaplan et al. 2020, section 2.1), since FlopCounterMode does not see the fused expert kernels.
Kaplan et al. 2020, Table 1, for ``kaplan_flops_per_token`` (reference/llm-facts.md, A1).
"""

import _oracles as O
import pytest
import torch


def _text(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items())


def _vocab(rng: torch.Generator) -> int:
    return 43 + int(torch.randint(0, 20, (1,), generator=rng))


@pytest.mark.points(1)
def test_matmul_flops(sub, rng):
    """matmul_flops(m, n, p) = 2mnp on three shapes"""
    for m, n, p in ((3, 5, 7), (1, 64, 10), (128, 3, 1)):
        O.expect_int(
            sub.call("compute.matmul_flops", m, n, p), 2 * m * n * p, what=f"matmul_flops({m}, {n}, {p})"
        )


@pytest.mark.points(4)
def test_forward_gpt2(sub, rng):
    """forward_flops_per_token of GPT-2 configs equals FlopCounterMode / tokens (B=2, T=7 and B=3, T=5)"""
    v = _vocab(rng)
    for config, (B, T) in (
        (dict(arch="gpt2", vocab_size=v, n_positions=16, d_model=24, n_layers=2, n_heads=3), (2, 7)),
        (dict(arch="gpt2", vocab_size=v, n_positions=16, d_model=20, n_layers=3, n_heads=5, d_ff=36), (3, 5)),
    ):
        idx = torch.randint(0, v, (B, T), generator=rng)
        want = O.flop_counts(O.hf_gpt2(config), idx)["total"] // (B * T)
        got = sub.call("compute.forward_flops_per_token", config, T)
        O.expect_int(got, want, what=f"forward_flops_per_token({_text(config)}, seq_len={T})")


@pytest.mark.points(3)
def test_forward_llama(sub, rng):
    """forward_flops_per_token of Llama configs (GQA, explicit head_dim, tied) equals FlopCounterMode"""
    v = _vocab(rng)
    for config, (B, T) in (
        (dict(arch="llama", vocab_size=v, d_model=24, n_layers=2, n_heads=6, n_kv_heads=2, d_ff=40), (2, 7)),
        (
            dict(
                arch="llama",
                vocab_size=v,
                d_model=18,
                n_layers=2,
                n_heads=3,
                n_kv_heads=1,
                head_dim=10,
                d_ff=44,
                tied=True,
            ),
            (3, 9),
        ),
    ):
        idx = torch.randint(0, v, (B, T), generator=rng)
        want = O.flop_counts(O.hf_llama(config), idx)["total"] // (B * T)
        got = sub.call("compute.forward_flops_per_token", config, T)
        O.expect_int(got, want, what=f"forward_flops_per_token({_text(config)}, seq_len={T})")


@pytest.mark.points(2)
def test_forward_without_attention(sub, rng):
    """attention=False leaves out exactly the attention products (FlopCounterMode's bmm entries)"""
    v = _vocab(rng)
    for config in (
        dict(arch="gpt2", vocab_size=v, n_positions=16, d_model=24, n_layers=2, n_heads=3),
        dict(arch="llama", vocab_size=v, d_model=24, n_layers=2, n_heads=6, n_kv_heads=2, d_ff=40),
    ):
        model = O.hf_gpt2(config) if config["arch"] == "gpt2" else O.hf_llama(config)
        idx = torch.randint(0, v, (2, 6), generator=rng)
        want = O.flop_counts(model, idx)["matmul"] // 12
        got = sub.call("compute.forward_flops_per_token", config, 6, attention=False)
        O.expect_int(got, want, what=f"forward_flops_per_token({_text(config)}, seq_len=6, attention=False)")


@pytest.mark.points(2)
def test_forward_moe(sub, rng):
    """MoE: forward FLOPs without attention are 2 x (active parameters - embedding - norm weights), and the
    attention term is the same as the dense model's"""
    v = _vocab(rng)
    config = dict(arch="llama", vocab_size=v, d_model=24, n_layers=3, n_heads=6, n_kv_heads=2, d_ff=40,
                  n_experts=4, experts_per_token=2)  # fmt: skip
    hf = O.hf_llama(config)
    matrices = O.mixtral_active(hf, config) - v * 24 - (2 * 3 + 1) * 24
    got = sub.call("compute.forward_flops_per_token", config, 9, attention=False)
    O.expect_int(
        got, 2 * matrices, what=f"forward_flops_per_token({_text(config)}, seq_len=9, attention=False)"
    )
    got = sub.call("compute.forward_flops_per_token", config, 9)
    O.expect_int(
        got, 2 * matrices + 3 * 4 * 9 * 24, what=f"forward_flops_per_token({_text(config)}, seq_len=9)"
    )


@pytest.mark.points(2)
def test_kaplan(sub, rng):
    """kaplan_flops_per_token = 2N' + 2 n_layer n_ctx d_model with N' = 2 d L (2d + d_ff) (Kaplan Table 1)"""
    for config, n_ctx in (
        (dict(arch="gpt2", vocab_size=50257, n_positions=1024, d_model=768, n_layers=12, n_heads=12), 1024),
        (dict(arch="gpt2", vocab_size=97, n_positions=64, d_model=40, n_layers=3, n_heads=5, d_ff=72), 37),
    ):
        d, L = config["d_model"], config["n_layers"]
        d_ff = config.get("d_ff", 4 * d)
        want = 2 * (2 * d * L * (2 * d + d_ff)) + 2 * L * n_ctx * d
        got = sub.call("compute.kaplan_flops_per_token", config, n_ctx)
        O.expect_int(got, want, what=f"kaplan_flops_per_token({_text(config)}, n_ctx={n_ctx})")


@pytest.mark.points(3)
def test_train_exact_backward(sub, rng):
    """train_flops_exact equals FlopCounterMode on a forward plus backward pass (backward = 2 x forward)"""
    v = _vocab(rng)
    for config, (B, T) in (
        (dict(arch="gpt2", vocab_size=v, n_positions=16, d_model=24, n_layers=2, n_heads=3), (2, 7)),
        (dict(arch="llama", vocab_size=v, d_model=24, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=36), (3, 5)),
    ):
        model = O.hf_gpt2(config) if config["arch"] == "gpt2" else O.hf_llama(config)
        idx = torch.randint(0, v, (B, T), generator=rng)
        want = O.flop_counts(model, idx, backward=True)["total"]
        got = sub.call("compute.train_flops_exact", config, T, B * T)
        O.expect_int(got, want, what=f"train_flops_exact({_text(config)}, seq_len={T}, n_tokens={B * T})")


@pytest.mark.points(1)
def test_train_estimate(sub, rng):
    """train_flops(N, D) = 6ND"""
    for n, d in ((124_439_808, 9e9), (7e9, 2e12)):
        O.expect_number(sub.call("compute.train_flops", n, d), 6 * n * d, what=f"train_flops({n}, {d:g})")


@pytest.mark.points(1)
def test_attention_fraction_measured(sub, rng):
    """attention_fraction equals FlopCounterMode's share of the attention products (GPT-2, T=9)"""
    v = _vocab(rng)
    config = dict(arch="gpt2", vocab_size=v, n_positions=16, d_model=24, n_layers=2, n_heads=3)
    counts = O.flop_counts(O.hf_gpt2(config), torch.randint(0, v, (2, 9), generator=rng))
    got = sub.call("compute.attention_fraction", config, 9)
    O.expect_number(
        got, counts["bmm"] / counts["total"], what=f"attention_fraction({_text(config)}, 9)", rtol=1e-9
    )


@pytest.mark.points(1)
@pytest.mark.visibility("after_due_date")
def test_attention_fraction_grows(sub):
    """the attention share of Llama-2-7B grows with the context: 4k, 32k, 128k, against 4 T H h / total"""
    config = dict(arch="llama", vocab_size=32000, d_model=4096, n_layers=32, n_heads=32, d_ff=11008)
    weights = 32 * 2 * (4 * 4096 * 4096 + 3 * 4096 * 11008) + 2 * 4096 * 32000
    for T in (4096, 32768, 131072):
        attn = 32 * 4 * T * 4096
        got = sub.call("compute.attention_fraction", config, T)
        O.expect_number(got, attn / (attn + weights), what=f"attention_fraction(Llama-2-7B, {T})", rtol=1e-9)
