"""Task 5, the GPT forward pass (20 points).

Expected logits: stored in a3_snapshot.pt, computed with a Hugging Face GPT2LMHeadModel (eager attention, no
dropout) whose random weights are loaded into your GPT. Tolerance 1e-4 absolute plus 1e-4 relative on logits
of order 10 (float32). Invariants: causality and right padding, on your own model.
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import GradeFailure, expect, expect_close, expect_tensor
from autograder.client import CallFailed

SNAP = C.SNAPSHOT["gpt"]


@pytest.mark.points(8)
def test_gpt_matches_snapshot(sub):
    """GPT logits match Hugging Face GPT-2 on stored weights (V=29, d_model=16, 2 layers, 2 heads, T=8)"""
    model = C.student_gpt(sub)
    expect_close(
        model(SNAP["idx"]),
        SNAP["logits"],
        atol=1e-4,
        rtol=1e-4,
        what=f"GPT({C.GPT_TEXT}) logits for idx of shape (3, 8)",
    )


@pytest.mark.points(4)
def test_gpt_is_causal(sub):
    """changing the tokens at positions 5.. leaves the logits at positions 0..4 unchanged"""
    model = C.student_gpt(sub)
    idx = SNAP["idx"].clone()
    base = expect_tensor(model(idx), shape=(3, 8, 29), dtype=torch.float32, what="GPT logits")
    idx[:, 5:] = (idx[:, 5:] + 7) % 29
    got = expect_tensor(model(idx), shape=(3, 8, 29), dtype=torch.float32, what="GPT logits")
    expect_close(
        got[:, :5],
        base[:, :5],
        atol=1e-5,
        rtol=1e-5,
        what="logits at positions 0..4 after the tokens at positions 5..7 changed",
    )


@pytest.mark.points(3)
def test_gpt_weight_tying(sub):
    """lm_head shares its weight with wte: loading a new wte.weight changes the output layer too"""
    model = C.student_gpt(sub)
    result = model.call("load_state_dict", {"wte.weight": SNAP["new_wte"]}, strict=False)
    expect(
        isinstance(result, list) and len(result) == 2 and not result[1],
        "load_state_dict({'wte.weight': ...}, strict=False) did not find the parameter wte.weight",
    )
    expect_close(
        model(SNAP["idx"]),
        SNAP["logits_new_wte"],
        atol=1e-4,
        rtol=1e-4,
        what="logits after loading a new wte.weight only (self.lm_head.weight = self.wte.weight)",
    )


@pytest.mark.points(2)
def test_gpt_rejects_long_input(sub):
    """GPT raises ValueError for sequences longer than block_size (T=11 > 10)"""
    model = C.student_gpt(sub)
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
def test_gpt_right_padding(sub):
    """a right-padded row gives, at its real positions, the logits of the same sequence alone"""
    model = C.student_gpt(sub)
    idx = SNAP["idx"]
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3, [1] * 2 + [0] * 6])
    padded = expect_tensor(
        model(idx, mask), shape=(3, 8, 29), dtype=torch.float32, what="GPT logits with attention_mask"
    )
    for row, n in [(1, 5), (2, 2)]:
        expect_close(
            padded[row : row + 1, :n],
            SNAP["logits"][row : row + 1, :n],
            atol=1e-4,
            rtol=1e-4,
            what=f"logits of row {row} (right-padded after {n} tokens) at its real positions",
        )
