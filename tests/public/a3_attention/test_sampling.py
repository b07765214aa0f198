"""Task 7, sampling (15 points).

filter_logits: expected outputs stored in a3_snapshot.pt (the pinned order: temperature, then top-k, then
top-p; no token sits near a top-p boundary). sample_next: exact argmax for temperature 0, reproducibility and
support otherwise. generate: each greedy token must be an argmax (tie margin 1e-4) of your own model's logits
for the prefix it was generated from, cropped to block_size.
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import GradeFailure, expect, expect_close, expect_equal, expect_tensor

SNAP = C.SNAPSHOT["filter"]


def _check_case(sub, case):
    top_k = case["top_k"] or None
    top_p = case["top_p"] if case["top_p"] < 1 else None
    got = sub.call(
        "sampling.filter_logits", SNAP["logits"], temperature=case["temperature"], top_k=top_k, top_p=top_p
    )
    expect_close(
        got,
        case["expected"],
        atol=1e-6,
        what=f"filter_logits(logits of shape (3, 29), temperature={case['temperature']}, "
        f"top_k={top_k}, top_p={top_p}): kept entries equal logits / temperature, removed ones "
        f"-inf",
    )


@pytest.mark.points(2)
def test_filter_temperature_and_top_k(sub):
    """filter_logits: temperature alone, and top_k=6 (B=3, V=29)"""
    for case in SNAP["cases"][:2]:
        _check_case(sub, case)


@pytest.mark.points(3)
def test_filter_top_p(sub):
    """filter_logits: top-p alone and after temperature and top-k (B=3, V=29)"""
    for case in SNAP["cases"][2:]:
        _check_case(sub, case)


@pytest.mark.points(2)
def test_sample_next_greedy(sub, rng):
    """sample_next with temperature 0 returns the argmax of each row (B=4, V=13)"""
    logits = torch.randn(4, 13, generator=rng)
    got = sub.call("sampling.sample_next", logits, temperature=0.0)
    expect_equal(got, logits.argmax(dim=-1), what="sample_next(logits of shape (4, 13), temperature=0)")


@pytest.mark.points(3)
def test_sample_next_seeded_and_in_support(sub, seed):
    """sample_next with a seed is reproducible and draws only tokens the filter keeps"""
    case = SNAP["cases"][4]
    logits = SNAP["logits"].repeat(8, 1)  # 24 rows
    kwargs = dict(temperature=case["temperature"], top_k=case["top_k"], top_p=case["top_p"], seed=seed)
    first = expect_tensor(
        sub.call("sampling.sample_next", logits, **kwargs),
        shape=(24,),
        dtype=torch.int64,
        what="sample_next(logits of shape (24, 29), ...)",
    )
    expect(bool(((first >= 0) & (first < 29)).all()), "sample_next returned ids outside [0, 29)")
    again = sub.call("sampling.sample_next", logits, **kwargs)
    expect_equal(again, first, what="sample_next called twice with the same seed")
    kept = torch.isfinite(case["expected"].repeat(8, 1))
    inside = kept.gather(1, first[:, None]).squeeze(1)
    expect(bool(inside.all()), f"sample_next drew {int((~inside).sum())} of 24 tokens the filter removes")


def _check_own_greedy(model, out, prompt_len, block_size, what):
    for t in range(prompt_len, out.shape[1]):
        context = out[:, :t][:, -block_size:]
        logits = expect_tensor(
            model(context), shape=(*context.shape, 29), dtype=torch.float32, what="GPT logits"
        )[:, -1]
        chosen = logits.gather(1, out[:, t : t + 1]).squeeze(1)
        if bool((chosen < logits.max(dim=-1).values - 1e-4).any()):
            raise GradeFailure(
                f"{what}: the token at position {t} is not the argmax of your model's logits "
                f"for its prefix (cropped to the last {block_size} tokens)"
            )


@pytest.mark.points(3)
def test_generate_greedy(sub, rng):
    """generate with temperature 0 appends the argmax of the model, one token at a time (B=2, prompt 3, +4)"""
    model = C.student_gpt(sub)
    prompt = torch.randint(0, 29, (2, 3), generator=rng)
    what = "generate(model, prompt of shape (2, 3), max_new_tokens=4, temperature=0)"
    out = expect_tensor(
        sub.call("sampling.generate", model, prompt, max_new_tokens=4, temperature=0.0),
        shape=(2, 7),
        dtype=torch.int64,
        what=what,
    )
    expect(bool(((out >= 0) & (out < 29)).all()), f"{what} returned ids outside [0, 29)")
    expect_equal(out[:, :3], prompt, what=f"{what}: the prompt")
    _check_own_greedy(model, out, 3, 10, what)


@pytest.mark.points(2)
def test_generate_crops_context(sub, rng):
    """generate runs past block_size=6 by cropping the context to its last 6 tokens (prompt 4, +6)"""
    model = C.student_gpt(sub, block_size=6)
    prompt = torch.randint(0, 29, (2, 4), generator=rng)
    what = "generate(model with block_size=6, prompt of shape (2, 4), max_new_tokens=6, temperature=0)"
    out = expect_tensor(
        sub.call("sampling.generate", model, prompt, max_new_tokens=6, temperature=0.0),
        shape=(2, 10),
        dtype=torch.int64,
        what=what,
    )
    expect(bool(((out >= 0) & (out < 29)).all()), f"{what} returned ids outside [0, 29)")
    expect_equal(out[:, :4], prompt, what=f"{what}: the prompt")
    _check_own_greedy(model, out, 4, 6, what)
