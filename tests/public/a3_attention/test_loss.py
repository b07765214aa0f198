"""Task 6, next_token_loss (10 points).

Oracle: F.cross_entropy of the logits at positions 0..T-2 against the labels at 1..T-1 (ignore_index -100,
mean over the targets that are not ignored). Tolerance 1e-5 absolute plus 1e-5 relative.
"""

import pytest
import torch
import torch.nn.functional as F

from autograder.checks import expect_scalar


def _oracle(logits, labels):
    V = logits.shape[-1]
    return float(F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100))


@pytest.mark.points(5)
def test_loss_matches_cross_entropy(sub, rng):
    """next_token_loss scores each position against the next token (B=3, T=4, V=11)"""
    logits = 2.0 * torch.randn(3, 4, 11, generator=rng)
    labels = torch.randint(0, 11, (3, 4), generator=rng)
    got = sub.call("model.next_token_loss", logits, labels)
    expect_scalar(
        got,
        _oracle(logits, labels),
        atol=1e-5,
        rtol=1e-5,
        what="next_token_loss(logits, labels), logits (3, 4, 11)",
    )


@pytest.mark.points(5)
def test_loss_ignores_masked_labels(sub, rng):
    """labels equal to -100 are skipped (B=2, T=6, V=9)"""
    logits = 2.0 * torch.randn(2, 6, 9, generator=rng)
    labels = torch.randint(0, 9, (2, 6), generator=rng)
    labels[0, :2] = -100
    labels[1, 4:] = -100
    got = sub.call("model.next_token_loss", logits, labels)
    expect_scalar(
        got,
        _oracle(logits, labels),
        atol=1e-5,
        rtol=1e-5,
        what="next_token_loss(logits, labels), logits (2, 6, 9), some labels -100",
    )
