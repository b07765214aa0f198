"""Task 5, the GPT forward pass (20 points).

Oracle: a Hugging Face ``GPT2LMHeadModel`` built offline from a tiny random config (eager attention, no
dropout, eval mode), whose weights are converted to the pinned names and loaded into your GPT. Tolerance 1e-4
absolute plus 1e-4 relative on logits of order 10 (float32). Invariants: causality and right padding.
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import GradeFailure, expect, expect_close, expect_tensor
from autograder.client import CallFailed

WHAT = f"GPT({C.GPT_TEXT})"


def _models(sub, rng):
    hf = C.hf_gpt(rng)
    return hf, C.student_gpt(sub, hf, WHAT)


@pytest.mark.points(8)
def test_gpt_matches_hf(sub, rng):
    """GPT logits match Hugging Face GPT-2 (V=29, d_model=18, 2 layers, 3 heads; B=4, T=8)"""
    hf, model = _models(sub, rng)
    idx = torch.randint(0, 29, (4, 8), generator=rng)
    expect_close(
        model(idx), C.hf_logits(hf, idx), atol=1e-4, rtol=1e-4, what=f"{WHAT} logits for idx of shape (4, 8)"
    )


@pytest.mark.points(4)
def test_gpt_is_causal(sub, rng):
    """changing the tokens at positions 5.. leaves the logits at positions 0..4 unchanged"""
    _, model = _models(sub, rng)
    idx = torch.randint(0, 29, (4, 8), generator=rng)
    base = expect_tensor(model(idx), shape=(4, 8, 29), dtype=torch.float32, what="GPT logits")
    idx[:, 5:] = (idx[:, 5:] + 7) % 29
    got = expect_tensor(model(idx), shape=(4, 8, 29), dtype=torch.float32, what="GPT logits")
    expect_close(
        got[:, :5],
        base[:, :5],
        atol=1e-5,
        rtol=1e-5,
        what="logits at positions 0..4 after the tokens at positions 5..7 changed",
    )


@pytest.mark.points(3)
def test_gpt_weight_tying(sub, rng):
    """lm_head shares its weight with wte: loading a new wte.weight changes the output layer too"""
    hf, model = _models(sub, rng)
    new_wte = torch.randn(29, 18, generator=rng)
    result = model.call("load_state_dict", {"wte.weight": new_wte}, strict=False)
    expect(
        isinstance(result, list) and len(result) == 2 and not result[1],
        "load_state_dict({'wte.weight': ...}, strict=False) did not find the parameter wte.weight",
    )
    with torch.no_grad():
        hf.transformer.wte.weight.copy_(new_wte)  # tied in GPT-2: lm_head.weight is the same tensor
    idx = torch.randint(0, 29, (4, 8), generator=rng)
    expect_close(
        model(idx),
        C.hf_logits(hf, idx),
        atol=1e-4,
        rtol=1e-4,
        what="logits after loading a new wte.weight only (self.lm_head.weight = self.wte.weight)",
    )


@pytest.mark.points(2)
def test_gpt_rejects_long_input(sub, rng):
    """GPT raises ValueError for sequences longer than block_size (T=11 > 10)"""
    _, model = _models(sub, rng)
    try:
        model(torch.zeros(1, 11, dtype=torch.long))
    except CallFailed as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        if ": ValueError:" not in first_line:
            raise GradeFailure(
                f"GPT.forward on T=11 > block_size=10 must raise ValueError; it raised: {str(exc)[:300]}"
            ) from None
        return
    raise GradeFailure("GPT.forward on T=11 > block_size=10 must raise ValueError; it returned normally")


@pytest.mark.points(3)
def test_gpt_right_padding(sub, rng):
    """a right-padded row gives, at its real positions, the logits of the same sequence alone"""
    hf, model = _models(sub, rng)
    idx = torch.randint(0, 29, (4, 8), generator=rng)  # the padding positions hold arbitrary tokens
    lengths = [8, 5, 2, 6]
    mask = torch.tensor([[1] * n + [0] * (8 - n) for n in lengths])
    padded = expect_tensor(
        model(idx, mask), shape=(4, 8, 29), dtype=torch.float32, what="GPT logits with attention_mask"
    )
    for row, n in enumerate(lengths):
        expect_close(
            padded[row : row + 1, :n],
            C.hf_logits(hf, idx[row : row + 1, :n]),
            atol=1e-4,
            rtol=1e-4,
            what=f"logits of row {row} (right-padded after {n} tokens) at its real positions, against "
            f"Hugging Face GPT-2 on the sequence alone",
        )
