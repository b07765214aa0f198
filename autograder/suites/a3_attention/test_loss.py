"""Task 6, next_token_loss (10 points).

Oracle: ``F.cross_entropy`` of the logits at positions 0..T-2 against the labels at positions 1..T-1, with
``ignore_index``, averaged over every non-ignored target of the batch (the Hugging Face causal-LM convention:
the caller does not shift). Tolerance: 1e-5 absolute plus 1e-5 relative (float32).
"""

import pytest
import torch
import torch.nn.functional as F

from autograder.checks import GradeFailure, expect_scalar

ATOL, RTOL = 1e-5, 1e-5


def _expect_loss(got, logits, labels, *, what: str, ignore_index: int = -100, atol: float = ATOL) -> None:
    """`got` must equal the oracle loss of (logits, labels) within `atol` + RTOL * |loss|."""
    V = logits.shape[-1]
    flat_logits, targets = logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1)
    expected = float(F.cross_entropy(flat_logits, targets, ignore_index=ignore_index))
    expect_scalar(got, expected, atol=atol, rtol=RTOL, what=what)


@pytest.mark.points(3)
def test_loss_matches_cross_entropy(sub, rng):
    """next_token_loss is the mean cross-entropy of each position against the next token (B=2, T=5, V=37)"""
    logits = 2.0 * torch.randn(2, 5, 37, generator=rng)
    labels = torch.randint(0, 37, (2, 5), generator=rng)
    got = sub.call("model.next_token_loss", logits, labels)
    if not (type(got) is torch.Tensor and got.dim() == 0 and got.dtype == torch.float32):
        kind = (
            f"a tensor of shape {tuple(got.shape)} and dtype {got.dtype}"
            if type(got) is torch.Tensor
            else f"a value of type {type(got).__name__}"
        )
        raise GradeFailure(
            "next_token_loss must return a 0-d float32 tensor (so that training can call "
            f"loss.backward()), got {kind}"
        )
    _expect_loss(
        got,
        logits,
        labels,
        what="next_token_loss(logits, labels), logits (2, 5, 37), labels (2, 5), no ignored labels",
    )


@pytest.mark.points(3)
def test_loss_ignores_masked_labels(sub, rng):
    """labels equal to -100 are skipped and the mean runs over the remaining targets (B=3, T=6, V=37)"""
    logits = 2.0 * torch.randn(3, 6, 37, generator=rng)
    labels = torch.randint(0, 37, (3, 6), generator=rng)
    labels[0, :3] = -100  # a prompt, including position 0 (never a target)
    labels[1, 4:] = -100  # right padding
    labels[2, 2] = -100
    got = sub.call("model.next_token_loss", logits, labels)
    _expect_loss(
        got,
        logits,
        labels,
        what="next_token_loss(logits, labels), logits (3, 6, 37), labels with -100 at a prompt, "
        "at padding and inside a row (the mean runs over non-ignored targets only)",
    )


@pytest.mark.points(1)
def test_loss_custom_ignore_index(sub, rng):
    """next_token_loss honours its ignore_index argument (ignore_index=5, B=2, T=6, V=11)"""
    logits = 2.0 * torch.randn(2, 6, 11, generator=rng)
    labels = torch.randint(0, 11, (2, 6), generator=rng)
    labels[0, 2:4] = 5
    labels[1, 5] = 5
    got = sub.call("model.next_token_loss", logits, labels, ignore_index=5)
    _expect_loss(
        got,
        logits,
        labels,
        ignore_index=5,
        what="next_token_loss(logits, labels, ignore_index=5), logits (2, 6, 11)",
    )


@pytest.mark.points(1)
def test_loss_mean_over_batch_targets(sub, rng):
    """the mean runs over all targets of the batch, not per sequence first (1 vs 6 targets; B=2, T=7, V=13)"""
    logits = 3.0 * torch.randn(2, 7, 13, generator=rng)
    labels = torch.randint(0, 13, (2, 7), generator=rng)
    labels[0, 2:] = -100  # row 0 has one target, row 1 has six
    got = sub.call("model.next_token_loss", logits, labels)
    _expect_loss(
        got,
        logits,
        labels,
        what="next_token_loss(logits, labels), logits (2, 7, 13), one target in row 0 and six in row 1",
    )


@pytest.mark.points(1)
@pytest.mark.visibility("after_due_date")
def test_loss_large_logits(sub, rng):
    """next_token_loss is stable for logits in the thousands (1000 * x; B=2, T=4, V=9)"""
    logits = 1000.0 * torch.randn(2, 4, 9, generator=rng)
    labels = torch.randint(0, 9, (2, 4), generator=rng)
    got = sub.call("model.next_token_loss", logits, labels)
    _expect_loss(
        got,
        logits,
        labels,
        atol=1e-3,
        what="next_token_loss(1000 * x, labels), logits (2, 4, 9) (use a log-softmax or "
        "cross_entropy, not log(softmax(x)))",
    )


@pytest.mark.points(1)
def test_loss_short_sequences(sub, rng):
    """next_token_loss on sequences of two tokens: one target per row (B=3, T=2, V=11)"""
    logits = 2.0 * torch.randn(3, 2, 11, generator=rng)
    labels = torch.randint(0, 11, (3, 2), generator=rng)
    got = sub.call("model.next_token_loss", logits, labels)
    _expect_loss(
        got,
        logits,
        labels,
        what="next_token_loss(logits, labels), logits (3, 2, 11), labels (3, 2)",
    )
