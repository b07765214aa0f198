"""Task 5, accounting (15 points).

Oracles: Mixtral-8x7B's exact counts, 46,702,792,704 total and 12,879,925,248 active (llm-facts.md A5,
Mixtral; checked by running the HF model on the meta device); Hugging Face ``MixtralForCausalLM`` and
``Qwen2MoeForCausalLM`` built on the meta device (nothing is allocated) from the published default configs
(``MixtralConfig()`` is Mixtral-8x7B, ``Qwen2MoeConfig()`` is Qwen1.5-MoE-A2.7B) and from small random ones,
counted with ``sum(p.numel())``; FLOPs from the same models' matrices. Exact integers.
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest

from autograder.checks import expect


def _kit_config(sub, **fields):
    return sub.new("accounting.MoEModelConfig", **fields)


def _from_mixtral(c) -> dict:
    return dict(
        vocab_size=c.vocab_size,
        d_model=c.hidden_size,
        n_layers=c.num_hidden_layers,
        n_heads=c.num_attention_heads,
        n_kv_heads=c.num_key_value_heads,
        head_dim=c.head_dim or c.hidden_size // c.num_attention_heads,
        d_ff_expert=c.intermediate_size,
        n_experts=c.num_local_experts,
        top_k=c.num_experts_per_tok,
        tie_embeddings=bool(c.tie_word_embeddings),
    )


def _from_qwen(c) -> dict:
    return dict(
        vocab_size=c.vocab_size,
        d_model=c.hidden_size,
        n_layers=c.num_hidden_layers,
        n_heads=c.num_attention_heads,
        n_kv_heads=c.num_key_value_heads,
        head_dim=c.hidden_size // c.num_attention_heads,
        d_ff_expert=c.moe_intermediate_size,
        n_experts=c.num_experts,
        top_k=c.num_experts_per_tok,
        n_shared_experts=1,
        d_ff_shared=c.shared_expert_intermediate_size,
        shared_expert_gate=True,
        qkv_bias=True,
        tie_embeddings=bool(c.tie_word_embeddings),
    )


def _expect_counts(sub, fields: dict, want: dict, name: str) -> None:
    got = sub.call("accounting.parameter_counts", _kit_config(sub, **fields))
    expect(isinstance(got, dict), f"parameter_counts({name}): expected a dict with 'total' and 'active'")
    for key in ("total", "active"):
        value = got.get(key)
        expect(
            isinstance(value, int),
            f"parameter_counts({name})[{key!r}]: expected an int, got {type(value).__name__}",
        )
        expect(
            value == want[key],
            f"parameter_counts({name})[{key!r}]: off by {value - want[key]:+,} parameters "
            f"({100 * (value - want[key]) / want[key]:+.3f}%)",
        )


@pytest.mark.points(4)
def test_mixtral_8x7b_published(sub):
    """Mixtral-8x7B: 46,702,792,704 total and 12,879,925,248 active parameters"""
    fields = _from_mixtral(O.MixtralConfig())
    _expect_counts(sub, fields, {"total": 46_702_792_704, "active": 12_879_925_248}, "Mixtral-8x7B")


@pytest.mark.points(4)
def test_qwen_moe_shared_experts(sub):
    """Qwen1.5-MoE-A2.7B (60 routed experts, top-4, a gated shared expert, q/k/v biases) against HF on meta"""
    c = O.Qwen2MoeConfig()
    _expect_counts(sub, _from_qwen(c), O.qwen_moe_counts(c), "Qwen1.5-MoE-A2.7B")


@pytest.mark.points(3)
@pytest.mark.visibility("after_due_date")
def test_small_random_configs(sub):
    """small configs with GQA, a head size other than d_model / n_heads, and tied embeddings"""
    mix = O.mixtral_config(
        d_model=24, d_ff=10, n_experts=6, top_k=2, vocab_size=37, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, tie_word_embeddings=True,
    )  # fmt: skip
    _expect_counts(sub, _from_mixtral(mix), O.mixtral_counts(mix), "a tiny tied Mixtral (E=6, k=2, GQA)")
    qwen = O.Qwen2MoeConfig(
        vocab_size=29, hidden_size=12, num_hidden_layers=2, num_attention_heads=3, num_key_value_heads=1,
        moe_intermediate_size=7, shared_expert_intermediate_size=9, num_experts=5, num_experts_per_tok=3,
    )  # fmt: skip
    _expect_counts(sub, _from_qwen(qwen), O.qwen_moe_counts(qwen), "a tiny Qwen-MoE (E=5, k=3)")


@pytest.mark.points(4)
def test_forward_flops_per_token(sub):
    """forward FLOPs per token = 2 x the weights of the matrices a token meets (Mixtral-8x7B, Qwen1.5-MoE,
    a tiny tied Mixtral)"""
    mix = O.MixtralConfig()
    qwen = O.Qwen2MoeConfig()
    tiny = O.mixtral_config(
        d_model=16, d_ff=6, n_experts=4, top_k=1, vocab_size=23, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=4, tie_word_embeddings=True,
    )  # fmt: skip
    for name, fields, want in [
        ("Mixtral-8x7B", _from_mixtral(mix), O.flops_oracle(O.MixtralForCausalLM, mix, 8, 2)),
        ("Qwen1.5-MoE-A2.7B", _from_qwen(qwen), O.flops_oracle(O.Qwen2MoeForCausalLM, qwen, 60, 4)),
        ("a tiny tied Mixtral", _from_mixtral(tiny), O.flops_oracle(O.MixtralForCausalLM, tiny, 4, 1)),
    ]:
        got = sub.call("accounting.forward_flops_per_token", _kit_config(sub, **fields))
        expect(
            isinstance(got, int),
            f"forward_flops_per_token({name}): expected an int, got {type(got).__name__}",
        )
        expect(
            got == want,
            f"forward_flops_per_token({name}): off by {got - want:+,} FLOPs "
            f"({100 * (got - want) / want:+.3f}%)",
        )
