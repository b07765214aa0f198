"""Problem 1, one configurable decoder for five families (25 points).

Oracle: tiny random Hugging Face models (transformers 5.24, eager attention, eval mode, no download) of
LLaMA, Mistral (sliding window 3), Qwen2 (q/k/v biases), Gemma (GeGLU with tanh GELU, sqrt(C) embedding
scale, (1 + w) RMSNorm, tied head) and Phi-3 (fused projections), V=37, C=24, F=40, 6 heads, 2 KV heads,
d=4, 2 layers. Their weights are given to the submission's ``Decoder`` with ``load_state_dict`` under the
decoder's names (a tied head left out: it must follow the embedding). Tolerance on float32 logits of order
3: 1e-4 absolute plus 1e-4 relative; generated tokens must be equal.
"""

import _oracles as O
import pytest
import torch

from autograder.checks import expect_close, expect_equal

C = O.common


def _logits_match(sub, rng, family, T=9, **overrides):
    hf = C.hf_model(rng, family, **overrides)
    model = C.student_decoder(sub, hf)
    idx = torch.randint(0, 37, (2, T), generator=rng)
    what = f"{C.describe(hf)}: logits for input_ids of shape (2, {T})"
    expect_close(model(idx), C.hf_logits(hf, idx), atol=C.LOGIT_ATOL, rtol=C.LOGIT_RTOL, what=what)
    return hf, model


@pytest.mark.points(4)
def test_llama_logits(sub, rng):
    """LLaMA: RMSNorm, SwiGLU, GQA and RoPE match HF's logits"""
    _logits_match(sub, rng, "llama")


@pytest.mark.points(4)
def test_mistral_sliding_window_logits(sub, rng):
    """Mistral: sliding window of 3 over 11 tokens (W keys including the query's own) matches HF"""
    _logits_match(sub, rng, "mistral", T=11)


@pytest.mark.points(3)
def test_qwen2_biases_logits(sub, rng):
    """Qwen2: q/k/v biases match HF's logits"""
    _logits_match(sub, rng, "qwen2")


@pytest.mark.points(5)
def test_gemma_logits(sub, rng):
    """Gemma: GeGLU (tanh GELU), embeddings times sqrt(C), RMSNorm (1 + w), tied head match HF"""
    _logits_match(sub, rng, "gemma")


@pytest.mark.points(3)
def test_phi3_fused_logits(sub, rng):
    """Phi-3: fused qkv_proj and gate_up_proj split as HF's logits say"""
    _logits_match(sub, rng, "phi3")


def _cached_greedy_generation(sub, rng, family: str) -> None:
    hf = C.hf_model(rng, family)
    model = C.student_decoder(sub, hf)
    prompt = torch.randint(0, 37, (2, 4), generator=rng)
    got = model.call("generate", prompt, 7)
    expect_equal(got, C.hf_generate(hf, prompt, 7), what=f"{C.describe(hf)}: greedy tokens after (2, 4)")


@pytest.mark.points(3)
def test_cached_greedy_generation_mistral(sub, rng):
    """Mistral: cached greedy generation of 7 tokens after a prompt of 4 equals HF's generate"""
    _cached_greedy_generation(sub, rng, "mistral")


@pytest.mark.points(3)
def test_cached_greedy_generation_gemma(sub, rng):
    """Gemma: cached greedy generation of 7 tokens after a prompt of 4 equals HF's generate"""
    _cached_greedy_generation(sub, rng, "gemma")
