"""Problem 3, the KV cache (25 points).

The caches are stateful, so they are driven in the worker through handles: each test builds one with
``sub.new("kv_cache.KVCache", ...)`` and calls its methods; only tensors cross the wire.

Oracles: Hugging Face ``DynamicCache`` (transformers 5.x ``cache_utils``), built from a Llama config (full
layers) or a Mistral config (``DynamicSlidingWindowLayer``, which keeps the last W - 1 tokens: llm-facts
A4, run
"Mistral with W = 8 after 12 tokens has keys [2, 2, 7, 16]"), fed the same chunks; HF's ``repeat_kv``; and
HF's
mask functions (``causal_mask_function`` and ``sliding_window_overlay``: key > query - W, W keys including the
query itself). The rolling buffer may hold its keys in any order; the suite compares the keys it returns after
sorting them by the positions it returns. Exact equality is expected: the cache only moves numbers.
"""

import _oracles as O  # noqa: F401  (the suite's helpers; imports the library oracles)
import pytest
import torch
from transformers import DynamicCache, LlamaConfig, MistralConfig
from transformers.masking_utils import causal_mask_function, sliding_window_overlay
from transformers.models.llama.modeling_llama import repeat_kv as hf_repeat_kv

from autograder.checks import GradeFailure, expect, expect_equal, expect_tensor

B, HKV, D = 2, 3, 4


def _hf_cache(n_layers: int, window: int | None):
    if window is None:
        config = LlamaConfig(num_hidden_layers=n_layers, hidden_size=24, num_attention_heads=6)
    else:
        config = MistralConfig(
            num_hidden_layers=n_layers, hidden_size=24, num_attention_heads=6, sliding_window=window
        )
    return DynamicCache(config=config)


def _update(cache, layer: int, k: torch.Tensor, v: torch.Tensor, what: str):
    got = cache.call("update", layer, k, v)
    expect(
        isinstance(got, list) and len(got) == 3, f"{what}: update must return (keys, values, key_positions)"
    )
    keys, values, positions = got
    if type(positions) is not torch.Tensor or positions.dim() != 1:
        raise GradeFailure(
            f"{what}: key_positions must be a 1-d int64 tensor, got {type(positions).__name__}"
        )
    expect_tensor(positions, shape=tuple(positions.shape), dtype=torch.int64, what=f"{what}: key_positions")
    S = positions.shape[0]
    keys = expect_tensor(
        keys, shape=(k.shape[0], k.shape[1], S, k.shape[3]), dtype=k.dtype, what=f"{what}: keys"
    )
    values = expect_tensor(
        values, shape=(k.shape[0], k.shape[1], S, k.shape[3]), dtype=v.dtype, what=f"{what}: values"
    )
    return keys, values, positions


def _drive(sub, rng, chunks: list[int], window: int | None, n_layers: int = 2):
    """Feed the same random chunks to the submission's cache and to HF's; compare after every update."""
    cache = (
        sub.new("kv_cache.KVCache", n_layers)
        if window is None
        else sub.new("kv_cache.SlidingWindowCache", n_layers, window)
    )
    hf = _hf_cache(n_layers, window)
    name = "KVCache" if window is None else f"SlidingWindowCache(window={window})"
    seen = 0
    for step, T in enumerate(chunks):
        for layer in range(n_layers):
            k = torch.randn(B, HKV, T, D, generator=rng)
            v = torch.randn(B, HKV, T, D, generator=rng)
            what = f"{name}, update {step} (chunk of {T} after {seen} tokens), layer {layer}"
            keys, values, positions = _update(cache, layer, k, v, what)
            hf_k, hf_v = hf.update(k.clone(), v.clone(), layer)  # [B, Hkv, S, d], oldest first
            S_hf = hf_k.shape[-2]
            expect(
                positions.shape[0] == S_hf,
                f"{what}: returned {positions.shape[0]} keys; attention at this step must read {S_hf} "
                f"(the {'last W - 1 stored tokens and ' if window else 'stored tokens and '}the new chunk)",
            )
            want_pos = torch.arange(seen + T - S_hf, seen + T)
            order = torch.argsort(positions)
            expect_equal(positions[order], want_pos, what=f"{what}: key_positions, sorted")
            expect_equal(keys[:, :, order], hf_k, what=f"{what}: keys put in position order")
            expect_equal(values[:, :, order], hf_v, what=f"{what}: values put in position order")
            if window is None:
                expect_equal(
                    positions, want_pos, what=f"{what}: key_positions (KVCache returns them in order)"
                )
        seen += T
        got_len = cache.call("get_seq_length")
        expect(
            got_len == seen == hf.get_seq_length(),
            f"{name}: get_seq_length() after {step + 1} updates (chunks {chunks[: step + 1]}) is {got_len}; "
            f"it counts every token seen, {seen}",
        )
    return cache


@pytest.mark.points(5)
def test_kv_cache_matches_hf(sub, rng):
    """KVCache: prefill of 4, one-token steps and a chunk of 3, two layers (B=2, Hkv=3, d=4), against HF's
    DynamicCache"""
    _drive(sub, rng, [4, 1, 1, 3, 1], window=None)


@pytest.mark.points(2)
def test_kv_cache_layers_independent(sub, rng):
    """each layer keeps its own keys and count: layer 1 is empty while layer 0 holds 3 tokens"""
    cache = sub.new("kv_cache.KVCache", 3)
    k = torch.randn(B, HKV, 3, D, generator=rng)
    _update(cache, 0, k, k + 1, "KVCache(3).update(0, ...)")
    expect(
        cache.call("get_seq_length", 0) == 3, "KVCache: get_seq_length(0) after 3 tokens in layer 0 is not 3"
    )
    expect(
        cache.call("get_seq_length", 1) == 0,
        "KVCache: get_seq_length(1) must be 0 while only layer 0 has been updated",
    )
    k1 = torch.randn(B, HKV, 3, D, generator=rng)
    keys, _, _ = _update(cache, 1, k1, k1, "KVCache(3).update(1, ...)")
    expect_equal(keys, k1, what="KVCache: keys returned by layer 1's first update (must not hold layer 0's)")


@pytest.mark.points(1)
def test_kv_cache_reset(sub, rng):
    """reset() empties the cache: the next update starts again at position 0"""
    cache = sub.new("kv_cache.KVCache", 2)
    for layer in range(2):
        _update(
            cache,
            layer,
            torch.randn(B, HKV, 5, D, generator=rng),
            torch.randn(B, HKV, 5, D, generator=rng),
            "KVCache.update",
        )
    cache.call("reset")
    expect(cache.call("get_seq_length") == 0, "KVCache: get_seq_length() after reset() is not 0")
    k = torch.randn(B, HKV, 2, D, generator=rng)
    keys, _, positions = _update(cache, 0, k, k, "KVCache.update after reset()")
    expect_equal(positions, torch.arange(2), what="KVCache: key_positions after reset() and a chunk of 2")
    expect_equal(keys, k, what="KVCache: keys after reset() and a chunk of 2")


@pytest.mark.points(6)
def test_sliding_window_cache_decode(sub, rng):
    """SlidingWindowCache(W=4): prefill of 2, then one-token steps past the window, against HF's sliding
    layer (keeps W - 1 = 3)"""
    _drive(sub, rng, [2, 1, 1, 1, 1, 1, 1], window=4)


@pytest.mark.points(3)
@pytest.mark.visibility("after_due_date")
def test_sliding_window_cache_chunked(sub, rng):
    """SlidingWindowCache(W=5): chunks of 7, 2, 1, 6 (longer than the window) and single steps"""
    _drive(sub, rng, [7, 2, 1, 6, 1, 1], window=5)


@pytest.mark.points(4)
def test_attention_mask(sub, rng):
    """attention_mask matches HF's causal mask, and with a window its sliding_window_overlay (W = 3: query 5
    sees keys 3..5), for query positions 6..9 against keys in buffer order"""
    queries = torch.arange(6, 10)
    keys = torch.tensor([3, 7, 4, 5, 8, 6, 9, 0])
    for window in (None, 3, 1):
        want = torch.tensor(
            [
                [
                    bool(causal_mask_function(0, 0, int(q), int(k)))
                    and (window is None or bool(sliding_window_overlay(window)(0, 0, int(q), int(k))))
                    for k in keys
                ]
                for q in queries
            ]
        )
        expect_equal(
            sub.call("kv_cache.attention_mask", queries, keys, window),
            want,
            what=f"attention_mask(query positions 6..9, 8 key positions in buffer order, window={window})",
        )


@pytest.mark.points(4)
def test_repeat_kv(sub, rng):
    """repeat_kv matches HF's (GQA: 2 KV heads for 6 query heads; and n_rep = 1)"""
    x = torch.randn(2, 2, 5, 4, generator=rng)
    expect_equal(
        sub.call("kv_cache.repeat_kv", x, 3),
        hf_repeat_kv(x, 3),
        what="repeat_kv(x of shape (2, 2, 5, 4), n_rep=3): query head h reads KV head h // 3",
    )
    x1 = torch.randn(3, 1, 2, 4, generator=rng)
    expect_equal(
        sub.call("kv_cache.repeat_kv", x1, 4),
        hf_repeat_kv(x1, 4),
        what="repeat_kv(x of shape (3, 1, 2, 4), n_rep=4) (MQA)",
    )
    expect_equal(sub.call("kv_cache.repeat_kv", x, 1), x, what="repeat_kv(x, n_rep=1)")
    if not torch.equal(hf_repeat_kv(x, 3)[:, 1], x[:, 0]):
        raise GradeFailure("the oracle's head order changed")  # the suite's own assumption
