"""Problems 4 and 5, the cached decoder, generation and memory (public checks).

Oracles: tiny random Hugging Face ``LlamaForCausalLM`` and ``MistralForCausalLM`` (eager attention), loaded
into
your ``Decoder`` with the same weights; HF's own greedy ``generate``; facts of llm-facts A4 (Llama-2-7B fp16
keeps 0.5 MiB per token). Tolerance 1e-4 absolute plus 1e-4 relative on logits.
"""

import _common as C
import pytest
import torch

from autograder.checks import expect, expect_close, expect_equal


@pytest.mark.points(12)
def test_cached_logits_match_hf(sub, rng):
    """Llama with GQA: prefill of 4 then single steps give HF's full-forward logits (B=2, T=7)"""
    hf = C.hf_model(rng, "llama", d_model=16, n_heads=4, n_kv_heads=2)
    model = C.student_decoder(sub, hf, C.describe(hf))
    idx = torch.randint(0, 37, (2, 7), generator=rng)
    got = torch.cat(C.cached_logits(model, idx, [4, 1, 1, 1]), dim=1)
    expect_close(got, C.hf_logits(hf, idx), atol=C.LOGIT_ATOL, rtol=C.LOGIT_RTOL, what="cached logits")


@pytest.mark.points(8)
def test_generate_mistral(sub, rng):
    """greedy generation of Mistral with sliding_window=3 equals HF's, token for token (8 new tokens)"""
    hf = C.hf_model(rng, "mistral", sliding_window=3)
    model = C.student_decoder(sub, hf, C.describe(hf))
    idx = torch.randint(0, 37, (1, 3), generator=rng)
    expect_equal(sub.call("model.generate", model, idx, 8), C.hf_generate(hf, idx, 8), what="generate")


@pytest.mark.points(5)
def test_llama2_bytes_per_token(sub, rng):
    """Llama-2-7B in fp16 keeps 524,288 bytes (0.5 MiB) of cache per token"""
    got = sub.call("cache_memory.kv_bytes_per_token", 32, 32, 128, 2)
    expect(got == 524_288, f"kv_bytes_per_token(32, 32, 128, 2) returned {got}")
