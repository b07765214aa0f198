"""Problem 5, the memory arithmetic of the cache (10 points).

Facts (llm-facts A4 and its table "Exact counts", computed from the public configs): KV bytes =
2 * n_layers * n_kv_heads * head_dim * seq * batch * bytes_per_element; Llama-2-7B in fp16 keeps 524,288 bytes
(0.5 MiB) per token and 2 GiB at 4096 tokens; Llama-3-8B and Mistral-7B (8 KV heads) 131,072 bytes per token,
Llama-3-8B 1 GiB at 8192 tokens; Mistral's W = 4096 rolling buffer caps a sequence at 512 MiB; Llama-2-7B has
6,738,415,616 parameters. Library oracle: the bytes a Hugging Face ``DynamicCache`` actually holds after a
prefill of a tiny random Llama. Integers must be exact.
"""

import _oracles as O
import pytest
import torch
from transformers import DynamicCache

from autograder.checks import expect, expect_scalar

MIB, GIB = 2**20, 2**30
LLAMA2_7B = dict(n_layers=32, n_kv_heads=32, head_dim=128)
LLAMA3_8B = dict(n_layers=32, n_kv_heads=8, head_dim=128)
GEMMA_2B = dict(n_layers=18, n_kv_heads=1, head_dim=256)


def _int(got, want: int, what: str) -> None:
    expect(
        isinstance(got, int) and not isinstance(got, bool),
        f"{what}: expected an int, got {type(got).__name__}",
    )
    expect(got == want, f"{what}: got {got}, off by {got - want} bytes" if isinstance(got, int) else what)


@pytest.mark.points(3)
def test_bytes_per_token_real_models(sub, rng):
    """kv_bytes_per_token: Llama-2-7B fp16 0.5 MiB, Llama-3-8B fp16 128 KiB, Gemma-2B fp16 18,432 B, and
    Llama-2-7B in fp32"""
    for name, cfg, nbytes, want in [
        ("Llama-2-7B", LLAMA2_7B, 2, 524_288),
        ("Llama-3-8B", LLAMA3_8B, 2, 131_072),
        ("Gemma-2B", GEMMA_2B, 2, 18_432),
        ("Llama-2-7B fp32", LLAMA2_7B, 4, 1_048_576),
    ]:
        _int(
            sub.call("cache_memory.kv_bytes_per_token", **cfg, bytes_per_element=nbytes),
            want,
            f"kv_bytes_per_token for {name} ({cfg}, {nbytes} bytes per element)",
        )


@pytest.mark.points(3)
def test_cache_bytes_contexts(sub, rng):
    """kv_cache_bytes: Llama-2-7B 2 GiB at 4096 tokens and 3 GiB for a batch of 3 at 512; Llama-3-8B 1 GiB at
    8192; Mistral's window 4096 caps 32768 tokens at 512 MiB (and changes nothing below the window)"""
    cases = [
        ("Llama-2-7B, 4096 tokens", dict(**LLAMA2_7B, seq_len=4096), 2 * GIB),
        ("Llama-2-7B, batch 3 of 2048 tokens", dict(**LLAMA2_7B, seq_len=2048, batch_size=3), 3 * GIB),
        ("Llama-3-8B, 8192 tokens", dict(**LLAMA3_8B, seq_len=8192), GIB),
        (
            "Mistral-7B, 32768 tokens, window 4096",
            dict(**LLAMA3_8B, seq_len=32768, sliding_window=4096),
            512 * MIB,
        ),
        (
            "Mistral-7B, 1000 tokens, window 4096",
            dict(**LLAMA3_8B, seq_len=1000, sliding_window=4096),
            1000 * 131_072,
        ),
    ]
    for name, kwargs, want in cases:
        _int(sub.call("cache_memory.kv_cache_bytes", **kwargs), want, f"kv_cache_bytes for {name}")


@pytest.mark.points(1)
def test_cache_bytes_match_hf_cache(sub, rng):
    """kv_cache_bytes equals the bytes HF's DynamicCache holds after a prefill (tiny Llama, float32, B=3,
    T=13, 3 layers, 2 KV heads of 6)"""
    hf = O.hf_model(rng, "llama", d_model=24, n_heads=4, n_kv_heads=2, n_layers=3)
    cache = DynamicCache(config=hf.config)
    with torch.no_grad():
        hf(input_ids=torch.randint(0, 37, (3, 13), generator=rng), past_key_values=cache, use_cache=True)
    held = sum(layer.keys.nbytes + layer.values.nbytes for layer in cache.layers)
    got = sub.call("cache_memory.kv_cache_bytes", 3, 2, 6, 13, batch_size=3, bytes_per_element=4)
    _int(got, held, "kv_cache_bytes(3 layers, 2 KV heads, head_dim 6, 13 tokens, batch 3, fp32)")


@pytest.mark.points(1)
def test_gqa_saving(sub, rng):
    """gqa_saving: Llama-3-8B's 32 query heads over 8 KV heads save 4x; MQA with 32 heads 32x; MHA 1x"""
    for heads, kv, want in [(32, 8, 4.0), (32, 1, 32.0), (12, 12, 1.0)]:
        expect_scalar(
            sub.call("cache_memory.gqa_saving", heads, kv),
            want,
            atol=1e-12,
            what=f"gqa_saving(n_heads={heads}, n_kv_heads={kv})",
        )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_crossover_context(sub, rng):
    """crossover_context: Llama-2-7B's fp16 cache outgrows its 6,738,415,616 parameters after 25,706 tokens
    (one sequence) and 3,214 tokens per sequence in a batch of 8; an exact multiple needs one token more"""
    n = 6_738_415_616
    want_1 = n * 2 // 524_288 + 1  # the weights are 12.55 GiB: 25,705.4 tokens of 0.5 MiB
    assert want_1 == 25_706
    _int(
        sub.call("cache_memory.crossover_context", n, **LLAMA2_7B),
        want_1,
        "crossover_context(Llama-2-7B, batch 1, fp16)",
    )
    _int(
        sub.call("cache_memory.crossover_context", n, **LLAMA2_7B, batch_size=8),
        n * 2 // (8 * 524_288) + 1,
        "crossover_context(Llama-2-7B, batch 8, fp16)",
    )
    # 1024 parameters in fp16 are 2048 bytes; 2 layers, 1 KV head of 4 in fp16 cost 32 bytes per token: at
    # exactly 64 tokens the cache equals the weights, so the first context that exceeds them is 65
    _int(
        sub.call("cache_memory.crossover_context", 1024, 2, 1, 4),
        65,
        "crossover_context(1024 parameters, 2 layers, 1 KV head of 4): equal at 64 tokens, more at 65",
    )
