"""Task 7, sampling (15 points).

filter_logits: Hugging Face's TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper in the pinned
order (temperature, then top-k, then top-p), on random logits without ties and a top_p that no cumulative
probability comes within 1e-3 of (there HF and the handout's definition agree). sample_next: exact argmax for
temperature 0, reproducibility and support otherwise. generate: each greedy token must be an argmax (tie
margin 1e-4) of a Hugging Face GPT-2's logits, whose weights your GPT holds, for the prefix it was generated
from, cropped to block_size.
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import GradeFailure, expect, expect_close, expect_equal, expect_tensor

TIE_MARGIN = 1e-4


def _check_filter(sub, logits, temperature, top_k, top_p, expected):
    got = sub.call("sampling.filter_logits", logits, temperature=temperature, top_k=top_k, top_p=top_p)
    expect_close(
        got,
        expected,
        atol=1e-6,
        what=f"filter_logits(logits of shape {tuple(logits.shape)}, temperature={temperature}, "
        f"top_k={top_k}, top_p={top_p}): kept entries equal logits / temperature, removed ones -inf",
    )


@pytest.mark.points(2)
def test_filter_temperature_and_top_k(sub, rng):
    """filter_logits: temperature alone, and top_k=6 (B=3, V=29)"""
    logits = C.random_logits(rng, 3, 29)
    for temperature, top_k in [(0.8, None), (1.0, 6)]:
        _check_filter(sub, logits, temperature, top_k, None, C.hf_filter(logits, temperature, top_k, None))


@pytest.mark.points(3)
def test_filter_top_p(sub, rng):
    """filter_logits: top-p alone and after temperature and top-k (B=3, V=29)"""
    for temperature, top_k in [(1.0, None), (1.5, 9), (0.7, 12)]:
        logits, top_p, expected = C.filter_case(rng, 3, 29, temperature, top_k)
        _check_filter(sub, logits, temperature, top_k, top_p, expected)


@pytest.mark.points(2)
def test_sample_next_greedy(sub, rng):
    """sample_next with temperature 0 returns the argmax of each row (B=4, V=13)"""
    logits = torch.randn(4, 13, generator=rng)
    got = sub.call("sampling.sample_next", logits, temperature=0.0)
    expect_equal(got, logits.argmax(dim=-1), what="sample_next(logits of shape (4, 13), temperature=0)")


@pytest.mark.points(3)
def test_sample_next_seeded_and_in_support(sub, rng, seed):
    """sample_next with a seed is reproducible and draws only tokens the filter keeps"""
    base, top_p, expected = C.filter_case(rng, 3, 29, 0.7, 12)
    logits = base.repeat(8, 1)  # 24 rows
    kwargs = dict(temperature=0.7, top_k=12, top_p=top_p, seed=seed)
    what = f"sample_next(logits of shape (24, 29), temperature=0.7, top_k=12, top_p={top_p}, seed=...)"
    first = expect_tensor(
        sub.call("sampling.sample_next", logits, **kwargs), shape=(24,), dtype=torch.int64, what=what
    )
    expect(bool(((first >= 0) & (first < 29)).all()), f"{what} returned ids outside [0, 29)")
    again = sub.call("sampling.sample_next", logits, **kwargs)
    expect_equal(again, first, what="sample_next called twice with the same seed")
    kept = torch.isfinite(expected.repeat(8, 1))
    inside = kept.gather(1, first[:, None]).squeeze(1)
    expect(bool(inside.all()), f"sample_next drew {int((~inside).sum())} of 24 tokens the filter removes")


def _check_greedy(hf, out, prompt_len, block_size, what):
    for t in range(prompt_len, out.shape[1]):
        context = out[:, :t][:, -block_size:]
        logits = C.hf_logits(hf, context)[:, -1]
        chosen = logits.gather(1, out[:, t : t + 1]).squeeze(1)
        bad = chosen < logits.max(dim=-1).values - TIE_MARGIN
        if bool(bad.any()):
            raise GradeFailure(
                f"{what}: the token at position {t} is not the argmax of the model's logits for its prefix "
                f"(cropped to the last {block_size} tokens) in {int(bad.sum())} of {out.shape[0]} rows"
            )


def _greedy(sub, rng, block_size, prompt_len, new):
    hf = C.hf_gpt(rng, block_size=block_size)
    text = C.GPT_TEXT.replace("block_size=10", f"block_size={block_size}")
    model = C.student_gpt(sub, hf, f"GPT({text})")
    prompt = torch.randint(0, 29, (2, prompt_len), generator=rng)
    what = (
        f"generate(model with block_size={block_size}, prompt of shape (2, {prompt_len}), "
        f"max_new_tokens={new}, temperature=0)"
    )
    out = expect_tensor(
        sub.call("sampling.generate", model, prompt, max_new_tokens=new, temperature=0.0),
        shape=(2, prompt_len + new),
        dtype=torch.int64,
        what=what,
    )
    expect(bool(((out >= 0) & (out < 29)).all()), f"{what} returned ids outside [0, 29)")
    expect_equal(out[:, :prompt_len], prompt, what=f"{what}: the prompt")
    _check_greedy(hf, out, prompt_len, block_size, what)


@pytest.mark.points(3)
def test_generate_greedy(sub, rng):
    """generate with temperature 0 appends the argmax of the model, one token at a time (B=2, prompt 3, +4)"""
    _greedy(sub, rng, block_size=10, prompt_len=3, new=4)


@pytest.mark.points(2)
def test_generate_crops_context(sub, rng):
    """generate runs past block_size=6 by cropping the context to its last 6 tokens (prompt 4, +6)"""
    _greedy(sub, rng, block_size=6, prompt_len=4, new=6)
