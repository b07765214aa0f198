"""Problem 6, hf_backend: HFBackend on a local Hugging Face folder (10 points).

Oracle: ``transformers``' own greedy ``generate`` on the left-padded batch, run here on a copy of the same
tiny random Llama (2 layers, 3 query heads sharing 1 key/value head, byte-level ByT5 tokenizer) that the
submission loads from the folder it was saved in with ``save_pretrained`` (no download). Sampling: the
reference backend, run here on the same folder's weights with the same seed. Plumbing only: a random model
writes nonsense.
"""

import tempfile

import _oracles as O
import pytest
import torch

from autograder.checks import expect

PROMPTS = ["Q: 12+34\nA:", "hello", "a much longer prompt, with more bytes"]


@pytest.mark.points(4)
def test_greedy_matches_transformers(sub, seed):
    """greedy HFBackend.generate equals transformers' generate on a batch of prompts of different lengths"""
    local, tok = O.tiny_hf(sub, seed % 1000)
    backend = sub.new("hf_backend.HFBackend", "tiny_hf")
    got = backend.call("generate", PROMPTS, 7, stop=None)
    want = O.hf_reference_texts(local, tok, PROMPTS, 7)
    expect(got == want, f"greedy generate of 7 tokens on 3 prompts gave {got}; transformers gives others")
    alone = [backend.call("generate", [p], 7, stop=None)[0] for p in PROMPTS]
    expect(alone == want, f"each prompt alone gave {alone}: left padding or positions are off")


@pytest.mark.points(3)
def test_eos_and_stop(sub, seed):
    """rows end at their eos token, and texts are cut before the stop string (on a model whose text after
    its first eos token shows, so that running on past eos changes the result)"""
    from transformers import ByT5Tokenizer

    base = seed % 1000 + 1
    model_seed = next(
        (
            s
            for s in range(base, base + 50)
            if O.eos_matters(O.tiny_hf_local(s, 4.0), ByT5Tokenizer(), PROMPTS, 9)
        ),
        None,
    )
    assert model_seed is not None, "no tiny model among 50 seeds writes text after its eos token"
    local, tok = O.tiny_hf(sub, model_seed, folder="tiny_eos", eos_bias=4.0)
    backend = sub.new("hf_backend.HFBackend", "tiny_eos")
    want = O.hf_reference_texts(local, tok, PROMPTS, 9)
    got = backend.call("generate", PROMPTS, 9, stop=None)
    expect(
        got == want,
        f"with a likely eos token, generate gave {got}; transformers (ending rows at eos) gives others",
    )
    stop = next((c for t in want for c in t[1:]), None)
    if stop is not None:
        cut = backend.call("generate", PROMPTS, 9, stop=stop)
        expect(cut == [t.split(stop, 1)[0] for t in want], f"generate(stop={stop!r}) gave {cut}")


@pytest.mark.points(3)
def test_sampling_matches_reference(sub, seed):
    """sampled HFBackend.generate follows the generator: same seed, same texts as the reference"""
    local, tok = O.tiny_hf(sub, seed % 1000 + 2, folder="tiny_sample")
    backend = sub.new("hf_backend.HFBackend", "tiny_sample")
    g = sub.new("torch.Generator")
    g.call("manual_seed", seed)
    got = backend.call("generate", PROMPTS, 6, temperature=1.0, generator=g, stop=None)
    with tempfile.TemporaryDirectory() as d:
        local.save_pretrained(d)
        tok.save_pretrained(d)
        ref = O.ref_hf_backend.HFBackend(d)
        want = ref.generate(
            PROMPTS, 6, temperature=1.0, generator=torch.Generator().manual_seed(seed), stop=None
        )
    expect(got == want, f"sampling 6 tokens at temperature 1 with a seeded generator gave {got}")
