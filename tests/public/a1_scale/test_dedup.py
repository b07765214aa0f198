"""Task 5, exact and near-duplicate removal (15 points).

Oracles: hand-worked cases; the exact Jaccard similarity of shingle sets for the MinHash estimate (tolerance
0.15 at 128 permutations); a brute-force comparison of bands for LSH. The hidden suite also checks your
signatures bit for bit against the pinned hash family.
"""

import _common as C
import numpy as np
import pytest

from autograder.checks import expect

DOCS = [
    "The quick brown fox jumps over the lazy dog near the river bank today.",
    "the quick  brown fox jumps over the lazy dog near the river bank today.",
    "The quick brown fox jumps over the lazy cat near the river bank today.",
    "Scaling laws relate the loss of a language model to its size and data.",
    "A tokenizer splits text into pieces that the model can embed and predict.",
]


@pytest.mark.points(4)
def test_normalize_and_exact(sub):
    """normalize and exact_dedup on hand-worked cases"""
    got = sub.call("dedup.normalize", "  Hello,\tWORLD \n")
    expect(got == "hello, world", f"normalize('  Hello,\\tWORLD \\n') gave {got!r}")
    got = sub.call("dedup.exact_dedup", DOCS + [DOCS[3].upper()])
    expect(got == [0, 2, 3, 4], f"exact_dedup gave {got!r}; expected [0, 2, 3, 4]")


@pytest.mark.points(5)
def test_shingles_and_estimate(sub):
    """shingles of 'abcdef' (n=3); the MinHash estimate is within 0.15 of the exact Jaccard similarity"""
    got = sub.call("builtins.sorted", sub.call("dedup.shingles", "abcdef", 3))
    expect(got == ["abc", "bcd", "cde", "def"], f"shingles('abcdef', 3) gave {got!r}")
    a, b = DOCS[0], DOCS[2]
    sa = sub.call("dedup.minhash_signature", a)
    sb = sub.call("dedup.minhash_signature", b)
    expect(
        isinstance(sa, np.ndarray) and sa.dtype == np.int64 and sa.shape == (128,),
        "signature: int64 array of 128",
    )
    est = sub.call("dedup.estimate_jaccard", sa, sb)
    exact = sub.call("dedup.jaccard", sub.call("dedup.shingles", a), sub.call("dedup.shingles", b))
    expect(abs(est - exact) <= 0.15, f"estimate {est:.3f} against exact Jaccard {exact:.3f}")


@pytest.mark.points(3)
def test_lsh(sub):
    """lsh_candidates equals a brute-force comparison of bands"""
    sigs = [sub.call("dedup.minhash_signature", d, 32) for d in DOCS]
    got = sub.call("dedup.lsh_candidates", sigs, 8, 4)
    want = [
        [i, j]
        for i in range(5)
        for j in range(i + 1, 5)
        if any((sigs[i][k * 4 : k * 4 + 4] == sigs[j][k * 4 : k * 4 + 4]).all() for k in range(8))
    ]
    expect(got == want, f"lsh_candidates gave {got!r}; expected {want!r}")


@pytest.mark.points(3)
def test_deduplicate(sub):
    """deduplicate removes the exact copy and the near copy and reports the fraction"""
    got = sub.call("dedup.deduplicate", DOCS, 0.5)
    expect(got["kept"] == [0, 3, 4], f"deduplicate(DOCS, 0.5) kept {got['kept']!r}; expected [0, 3, 4]")
    expect(got["exact_removed"] == 1 and got["near_removed"] == 1, f"deduplicate counts: {got!r}")
    C.expect_number(got["fraction_removed"], 0.4, what="fraction_removed")
