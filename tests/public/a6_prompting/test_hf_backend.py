"""Problem 6, hf_backend: greedy generation against transformers' generate on a tiny random Llama."""

import _common as C
import pytest

from autograder.checks import expect


@pytest.mark.points(10)
def test_greedy_matches_transformers(sub):
    """HFBackend.generate (greedy, 6 tokens, 2 prompts of different lengths) equals transformers' generate"""
    local, tok = C.tiny_hf(sub, 5)
    backend = sub.new("hf_backend.HFBackend", "tiny_hf")
    prompts = ["abc", "a longer prompt"]
    got = backend.call("generate", prompts, 6, stop=None)
    want = C.hf_reference_texts(local, tok, prompts, 6)
    expect(got == want, f"generate gave {got}, transformers gives {want}")
