"""Task 1, counting parameters exactly (20 points).

Oracles: ``sum(p.numel())`` of Hugging Face ``GPT2LMHeadModel``, ``LlamaForCausalLM`` and
``MixtralForCausalLM`` built offline from the same configs (tied tensors counted once; Mixtral's active
count is
the total minus the unused experts' share of its fused expert tensors), and the published counts of
``reference/llm-facts.md`` section A1 (GPT-2 small 124,439,808; Llama-2-7B 6,738,415,616; Mistral-7B
7,241,732,096; Mixtral-8x7B 46,702,792,704 total, 12,879,925,248 active), which the meta-device builds of the
same configs reproduce. Exact integers: no tolerance.
"""

import _oracles as O
import pytest
import torch

GPT2_SMALL = dict(arch="gpt2", vocab_size=50257, n_positions=1024, d_model=768, n_layers=12, n_heads=12)
LLAMA2_7B = dict(arch="llama", vocab_size=32000, d_model=4096, n_layers=32, n_heads=32, d_ff=11008)
MISTRAL_7B = dict(LLAMA2_7B, n_kv_heads=8, d_ff=14336)
MIXTRAL_8X7B = dict(MISTRAL_7B, n_experts=8, experts_per_token=2)


def _sizes(rng: torch.Generator) -> tuple[int, int]:
    """A vocabulary size and a position count drawn per submission, all different from the widths."""
    v = 41 + int(torch.randint(0, 30, (1,), generator=rng))
    return v, 13 + int(torch.randint(0, 7, (1,), generator=rng))


def _text(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items() if k != "arch")


@pytest.mark.points(3)
def test_gpt2_tied(sub, rng):
    """gpt2_params equals sum(p.numel()) of a tied HF GPT-2 (two configs, default d_ff = 4d)"""
    v, p = _sizes(rng)
    for config in (
        dict(arch="gpt2", vocab_size=v, n_positions=p, d_model=24, n_layers=2, n_heads=3),
        dict(arch="gpt2", vocab_size=v + 7, n_positions=p + 2, d_model=20, n_layers=3, n_heads=5, tied=True),
    ):
        got = sub.call("accounting.gpt2_params", config)
        O.expect_int(got, O.numel(O.hf_gpt2(config)), what=f"gpt2_params({_text(config)})")


@pytest.mark.points(3)
def test_gpt2_untied_and_width(sub, rng):
    """gpt2_params with an untied head and with d_ff != 4d equals HF GPT-2's count"""
    v, p = _sizes(rng)
    for config in (
        dict(arch="gpt2", vocab_size=v, n_positions=p, d_model=24, n_layers=2, n_heads=3, tied=False),
        dict(arch="gpt2", vocab_size=v, n_positions=p, d_model=18, n_layers=3, n_heads=3, d_ff=50),
        dict(
            arch="gpt2", vocab_size=v, n_positions=p, d_model=18, n_layers=1, n_heads=2, d_ff=34, tied=False
        ),
    ):
        got = sub.call("accounting.gpt2_params", config)
        O.expect_int(got, O.numel(O.hf_gpt2(config)), what=f"gpt2_params({_text(config)})")


@pytest.mark.points(4)
def test_llama_gqa(sub, rng):
    """llama_params equals HF Llama's count: grouped-query attention, untied and tied, an explicit head_dim"""
    v, _ = _sizes(rng)
    for config in (
        dict(arch="llama", vocab_size=v, d_model=24, n_layers=2, n_heads=6, n_kv_heads=2, d_ff=40),
        dict(arch="llama", vocab_size=v, d_model=24, n_layers=3, n_heads=4, n_kv_heads=1, d_ff=56, tied=True),
        dict(
            arch="llama", vocab_size=v, d_model=24, n_layers=2, n_heads=3, n_kv_heads=3, head_dim=10, d_ff=44
        ),
        dict(arch="llama", vocab_size=v, d_model=16, n_layers=1, n_heads=4, d_ff=36),
    ):
        got = sub.call("accounting.llama_params", config)
        O.expect_int(got, O.numel(O.hf_llama(config)), what=f"llama_params({_text(config)})")


@pytest.mark.points(3)
def test_moe_total_and_active(sub, rng):
    """llama_params and moe_active_params of MoE configs equal HF Mixtral's total and active counts"""
    v, _ = _sizes(rng)
    for config in (
        dict(arch="llama", vocab_size=v, d_model=24, n_layers=2, n_heads=6, n_kv_heads=2, d_ff=40,
             n_experts=4, experts_per_token=2),
        dict(arch="llama", vocab_size=v, d_model=16, n_layers=3, n_heads=4, n_kv_heads=2, d_ff=28,
             n_experts=5, experts_per_token=1),
    ):  # fmt: skip
        hf = O.hf_llama(config)
        O.expect_int(
            sub.call("accounting.llama_params", config), O.numel(hf), what=f"llama_params({_text(config)})"
        )
        O.expect_int(
            sub.call("accounting.moe_active_params", config),
            O.mixtral_active(hf, config),
            what=f"moe_active_params({_text(config)})",
        )
    dense = dict(arch="llama", vocab_size=v, d_model=24, n_layers=2, n_heads=6, n_kv_heads=2, d_ff=40)
    O.expect_int(
        sub.call("accounting.moe_active_params", dense),
        O.numel(O.hf_llama(dense)),
        what=f"moe_active_params of a dense config ({_text(dense)})",
    )


@pytest.mark.points(1)
def test_non_embedding(sub, rng):
    """non_embedding_params = gpt2_params minus the token and position tables (tied and untied)"""
    v, p = _sizes(rng)
    for tied in (True, False):
        config = dict(arch="gpt2", vocab_size=v, n_positions=p, d_model=24, n_layers=2, n_heads=3, tied=tied)
        want = O.numel(O.hf_gpt2(config)) - v * 24 - p * 24
        O.expect_int(
            sub.call("accounting.non_embedding_params", config),
            want,
            what=f"non_embedding_params({_text(config)})",
        )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_published_gpt2_small(sub):
    """gpt2_params of GPT-2 small is the published 124,439,808 (Radford et al. 2019; llm-facts A1)"""
    O.expect_int(sub.call("accounting.gpt2_params", GPT2_SMALL), 124_439_808, what="gpt2_params(GPT-2 small)")


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_published_llama_mistral(sub):
    """llama_params of Llama-2-7B is 6,738,415,616 and of Mistral-7B 7,241,732,096 (llm-facts A1)"""
    O.expect_int(
        sub.call("accounting.llama_params", LLAMA2_7B), 6_738_415_616, what="llama_params(Llama-2-7B)"
    )
    O.expect_int(
        sub.call("accounting.llama_params", MISTRAL_7B), 7_241_732_096, what="llama_params(Mistral-7B)"
    )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_published_mixtral(sub):
    """Mixtral-8x7B has 46,702,792,704 parameters, 12,879,925,248 active per token (llm-facts A1)"""
    O.expect_int(
        sub.call("accounting.llama_params", MIXTRAL_8X7B), 46_702_792_704, what="llama_params(Mixtral-8x7B)"
    )
    O.expect_int(
        sub.call("accounting.moe_active_params", MIXTRAL_8X7B),
        12_879_925_248,
        what="moe_active_params(Mixtral-8x7B)",
    )
