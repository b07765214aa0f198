"""Problem 2, selection: the pinned random draw, the Jaccard similarity and the nearest-neighbour order."""

import random

import _common as C
import pytest

from autograder.checks import expect, expect_scalar

POOL = [("12+3", "t0"), ("45+6", "t1"), ("12+4", "t2"), ("7+89", "t3"), ("12+3+4", "t4"), ("99", "t5")]


@pytest.mark.points(5)
def test_select_random(sub):
    """select_random(pool of 6, k=3, seed=5, exclude=1) follows random.Random(5).sample([0, 2, 3, 4, 5], 3)"""
    idx = random.Random(5).sample([0, 2, 3, 4, 5], 3)
    got = C.pairs_of(sub, sub.call("selection.select_random", C.remote_examples(sub, POOL), 3, 5, 1))
    expect(
        got == [POOL[i] for i in idx],
        f"select_random picked {[t for _, t in got]}, expected {[POOL[i][1] for i in idx]}",
    )


@pytest.mark.points(5)
def test_similarity(sub):
    """similarity("12+3", "12+4") = 5/9 (shared: 1, 2, +, 12, 2+); two empty strings: 1.0"""
    expect_scalar(
        sub.call("selection.similarity", "12+3", "12+4"), 5 / 9, atol=1e-12, what='similarity("12+3", "12+4")'
    )
    expect_scalar(sub.call("selection.similarity", "", ""), 1.0, atol=0.0, what='similarity("", "")')
    expect_scalar(sub.call("selection.similarity", "ab", "cd"), 0.0, atol=0.0, what='similarity("ab", "cd")')


@pytest.mark.points(5)
def test_select_nearest(sub):
    """select_nearest for "12+3" without itself (exclude=0): the 2 most similar, the most similar last"""
    sims = [
        (-len(_g(q) & _g("12+3")) / len(_g(q) | _g("12+3")), i) for i, (q, _) in enumerate(POOL) if i != 0
    ]
    ranked = [i for _, i in sorted(sims)][:2]
    want = [POOL[i] for i in reversed(ranked)]
    got = C.pairs_of(sub, sub.call("selection.select_nearest", C.remote_examples(sub, POOL), "12+3", 2, 0))
    expect(got == want, f"select_nearest gave {[t for _, t in got]}, expected {[t for _, t in want]}")


def _g(s: str) -> set[str]:
    return set(s) | {s[i : i + 2] for i in range(len(s) - 1)}
