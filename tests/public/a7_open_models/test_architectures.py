"""Public tests of Problem 1: the decoder against tiny random HF models (other seeds, fewer cases)."""

import _common as C
import pytest
import torch

from autograder.checks import expect_close, expect_equal


@pytest.mark.parametrize("family", C.FAMILIES)
def test_logits_match_hf(sub, rng, family):
    """the decoder's logits match HF's for every family"""
    hf = C.hf_model(rng, family)
    model = C.student_decoder(sub, hf)
    idx = torch.randint(0, 37, (2, 8), generator=rng)
    what = f"{C.describe(hf)}: logits for input_ids of shape (2, 8)"
    expect_close(model(idx), C.hf_logits(hf, idx), atol=C.LOGIT_ATOL, rtol=C.LOGIT_RTOL, what=what)


def test_cached_generation_matches_hf(sub, rng):
    """cached greedy generation of 5 tokens equals HF's generate (LLaMA)"""
    hf = C.hf_model(rng, "llama")
    model = C.student_decoder(sub, hf)
    prompt = torch.randint(0, 37, (2, 3), generator=rng)
    expect_equal(model.call("generate", prompt, 5), C.hf_generate(hf, prompt, 5), what="greedy tokens")
