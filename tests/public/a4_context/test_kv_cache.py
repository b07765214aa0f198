"""Problem 3, the KV cache (public checks).

The cache lives in the worker and is driven through a handle. Oracle: Hugging Face ``DynamicCache`` from a
Llama config (full) and a Mistral config (sliding window: it keeps W - 1 tokens). The hidden suite checks
more chunkings, windows, GQA and masks.
"""

import pytest
import torch
from transformers import DynamicCache, LlamaConfig, MistralConfig

from autograder.checks import expect, expect_equal


@pytest.mark.points(15)
@pytest.mark.parametrize("window", [None, 3])
def test_cache_matches_hf(sub, rng, window):
    """the cache returns HF's keys and values (sorted by position) after a prefill of 4 and single steps"""
    if window is None:
        cache = sub.new("kv_cache.KVCache", 1)
        hf = DynamicCache(config=LlamaConfig(num_hidden_layers=1, hidden_size=8, num_attention_heads=2))
    else:
        cache = sub.new("kv_cache.SlidingWindowCache", 1, window)
        hf = DynamicCache(
            config=MistralConfig(
                num_hidden_layers=1, hidden_size=8, num_attention_heads=2, sliding_window=window
            )
        )
    seen = 0
    for T in [4, 1, 1, 1]:
        k, v = torch.randn(2, 1, T, 6, generator=rng), torch.randn(2, 1, T, 6, generator=rng)
        got = cache.call("update", 0, k, v)
        expect(isinstance(got, list) and len(got) == 3, "update must return (keys, values, key_positions)")
        hf_k, hf_v = hf.update(k, v, 0)
        order = torch.argsort(got[2])
        what = f"cache (window={window}) after {seen + T} tokens"
        expect_equal(got[0][:, :, order], hf_k, what=f"{what}: keys in position order")
        expect_equal(got[1][:, :, order], hf_v, what=f"{what}: values in position order")
        seen += T
        expect(cache.call("get_seq_length") == seen, f"{what}: get_seq_length() must be {seen}")


@pytest.mark.points(5)
def test_attention_mask_window(sub, rng):
    """attention_mask with W = 3: query 5 sees keys 3, 4, 5"""
    got = sub.call("kv_cache.attention_mask", torch.tensor([5]), torch.arange(7), 3)
    expect_equal(got, torch.tensor([[False, False, False, True, True, True, False]]), what="attention_mask")
