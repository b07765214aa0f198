"""Task 5, exact and near-duplicate removal (15 points).

Oracles: hand-worked normalisation cases; the definitions of shingles and Jaccard similarity; MinHash
signatures of the pinned hash family recomputed with Python integers (``_oracles.signature``), compared bit
for
bit; the exact Jaccard similarity of the shingle sets for the MinHash estimate (128 permutations: the standard
error is at most 0.045, the tolerance 0.15); LSH candidates by brute force over every pair and band; the
near-duplicate rule of the handout applied by the oracle.
"""

import _oracles as O
import numpy as np
import pytest
import torch

from autograder.checks import GradeFailure, expect
from autograder.client import CallFailed

BASE = [
    "The quick brown fox jumps over the lazy dog near the river bank today.",
    "Scaling laws relate the loss of a language model to its size and data.",
    "A tokenizer splits text into pieces that the model can embed and predict.",
    "Deduplication removes repeated documents so that training sees new text.",
    "Mixture of experts models route each token to a few of many networks.",
    "The cache stores keys and values so that decoding does not recompute them.",
]


def _edit(text: str, g: torch.Generator, n: int) -> str:
    """``text`` with ``n`` characters replaced at random positions (a near duplicate)."""
    chars = list(text)
    for pos in torch.randint(0, len(chars), (n,), generator=g).tolist():
        chars[pos] = "xqzjk"[pos % 5]
    return "".join(chars)


def _signature(got, n: int, what: str) -> list[int]:
    if not isinstance(got, np.ndarray | torch.Tensor) or tuple(got.shape) != (n,):
        raise GradeFailure(f"{what}: expected an int64 array of shape ({n},), got {type(got).__name__}")
    if str(got.dtype) not in ("int64", "torch.int64"):
        raise GradeFailure(f"{what}: expected dtype int64, got {got.dtype}")
    return [int(v) for v in got.tolist()]


@pytest.mark.points(2)
def test_normalize(sub):
    """normalize: NFKC, lower case, whitespace runs to one space, stripped"""
    cases = [
        ("  Hello,\t\tWORLD \n", "hello, world"),
        ("ﬁne ｆｕｌｌ width", "fine full width"),  # NFKC folds ligatures and full-width letters
        ("Café\u00a0au\u2003lait", "café au lait"),  # no-break and em spaces are whitespace
        ("", ""),
    ]
    for text, want in cases:
        got = sub.call("dedup.normalize", text)
        expect(got == want, f"normalize({text!r}) gave {got!r}; expected {want!r}")


@pytest.mark.points(2)
def test_exact_dedup(sub, rng):
    """exact_dedup keeps the first of each group of equal normalised texts, in order"""
    perm = torch.randperm(len(BASE), generator=rng).tolist()
    docs = [BASE[i] for i in perm]
    docs += [docs[1].upper(), "  " + docs[0] + "  ", docs[3].replace(" ", "\n"), docs[1] + "!"]
    docs.insert(2, docs[4].lower())
    want, seen = [], set()
    for i, d in enumerate(docs):
        key = O._normalize_pinned(d)
        if key not in seen:
            seen.add(key)
            want.append(i)
    got = sub.call("dedup.exact_dedup", docs)
    expect(
        got == want,
        f"exact_dedup of {len(docs)} documents (duplicates by case, spaces, line breaks) kept "
        f"{got!r}; expected {want!r}",
    )


@pytest.mark.points(2)
def test_shingles_and_jaccard(sub, rng):
    """shingles are the set of character n-grams of the normalised text; jaccard = |A & B| / |A | B|"""
    for text, n in ((BASE[0], 5), ("  Ab  CdE ", 3), ("abc", 5), (BASE[2], 4)):
        got = sub.call("dedup.shingles", text, n)
        expect(
            getattr(got, "type_name", None) in ("set", "frozenset"),
            f"shingles({text!r}, n={n}) must return "
            f"a set, got {getattr(got, 'type_name', type(got).__name__)}",
        )
        got = sub.call("builtins.sorted", got)
        want = O.shingle_set(text, n)
        expect(
            set(got) == want and len(got) == len(want),
            f"shingles({text!r}, n={n}) differs from the set of {len(want)} character {n}-grams of the "
            "normalised text",
        )
    a, b = O.shingle_set(BASE[0]), O.shingle_set(_edit(BASE[0], rng, 4))
    got = sub.call("dedup.jaccard", sub.call("builtins.set", sorted(a)), sub.call("builtins.set", sorted(b)))
    O.expect_number(got, O.jaccard(a, b), what="jaccard of two shingle sets", rtol=1e-12)
    O.expect_number(
        sub.call("dedup.jaccard", sub.call("builtins.set"), sub.call("builtins.set")),
        1.0,
        what="jaccard of two empty sets",
        rtol=0,
    )


@pytest.mark.points(3)
def test_minhash_exact(sub, rng):
    """minhash_signature equals the pinned hash family bit for bit (num_perm 128 and 40, seeds 0 and drawn)"""
    seed = int(torch.randint(1, 10_000, (1,), generator=rng))
    for text, num_perm, n, s in ((BASE[1], 128, 5, 0), (BASE[4], 40, 3, seed), ("tiny", 16, 5, seed)):
        what = f"minhash_signature(text of {len(text)} characters, num_perm={num_perm}, n={n}, seed={s})"
        got = _signature(sub.call("dedup.minhash_signature", text, num_perm, n, s), num_perm, what)
        want = O.signature(text, num_perm, n, s)
        wrong = sum(x != y for x, y in zip(got, want, strict=True))
        expect(wrong == 0, f"{what}: {wrong} of {num_perm} entries differ from the pinned hash family")


@pytest.mark.points(2)
def test_minhash_estimate(sub, rng):
    """estimate_jaccard of two signatures is the fraction of equal entries and is within 0.15 of the exact
    Jaccard similarity (128 permutations)"""
    for k, edits in enumerate((0, 3, 8, 20)):
        a, b = BASE[k], _edit(BASE[k], rng, edits)
        sa = sub.call("dedup.minhash_signature", a, 128, 5, 0)
        sb = sub.call("dedup.minhash_signature", b, 128, 5, 0)
        est = sub.call("dedup.estimate_jaccard", sa, sb)
        want = sum(x == y for x, y in zip(O.signature(a), O.signature(b), strict=True)) / 128
        O.expect_number(est, want, what=f"estimate_jaccard after {edits} edits", rtol=1e-12)
        exact = O.jaccard(O.shingle_set(a), O.shingle_set(b))
        expect(
            abs(est - exact) <= 0.15,
            f"estimate_jaccard after {edits} edits is {abs(est - exact):.2f} away "
            "from the exact Jaccard similarity (tolerance 0.15)",
        )


@pytest.mark.points(2)
def test_lsh_candidates(sub, rng):
    """lsh_candidates equals a brute-force comparison of every pair on every band; bad shapes raise"""
    docs = BASE + [_edit(BASE[i], rng, e) for i, e in ((0, 2), (0, 6), (2, 3), (5, 30))]
    sigs = [O.signature(d, 24, 5, 7) for d in docs]
    arrays = [np.array(s, dtype=np.int64) for s in sigs]
    for bands, rows in ((8, 3), (6, 4), (12, 2)):
        got = sub.call("dedup.lsh_candidates", arrays, bands, rows)
        want = [list(p) for p in O.candidates(sigs, bands, rows)]
        expect(
            got == want,
            f"lsh_candidates of {len(docs)} signatures of 24 entries, bands={bands}, rows={rows}, "
            f"gave {len(got) if isinstance(got, list) else '?'} pairs; expected {len(want)} "
            "(sorted (i, j), i < j)",
        )
    try:
        sub.call("dedup.lsh_candidates", arrays, 5, 4)
    except CallFailed as exc:
        expect(
            "ValueError" in str(exc), f"lsh_candidates with bands*rows=20 != 24 must raise ValueError: {exc}"
        )
    else:
        expect(
            False, "lsh_candidates with bands * rows = 20 for signatures of 24 entries must raise ValueError"
        )


@pytest.mark.points(2)
def test_near_dedup_and_fraction(sub, rng):
    """near_dedup keeps the documents of the pinned rule; deduplicate reports exact, near and the fraction"""
    g = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=rng)))
    docs = list(BASE)
    docs += [
        _edit(BASE[0], g, 2),
        _edit(BASE[0], g, 3),
        _edit(BASE[3], g, 2),
        BASE[1].upper(),
        _edit(BASE[5], g, 25),
    ]
    docs += [BASE[2], _edit(_edit(BASE[0], g, 2), g, 2)]
    order = torch.randperm(len(docs), generator=g).tolist()
    docs = [docs[i] for i in order]
    params = dict(num_perm=64, bands=16, rows=4, n=5, seed=3)
    for threshold in (0.5, 0.8):
        want = O.near_kept(docs, threshold, **params)
        got = sub.call("dedup.near_dedup", docs, threshold, **params)
        expect(
            got == want,
            f"near_dedup of {len(docs)} documents with planted near duplicates "
            f"(threshold={threshold}, {params}) kept {got!r}; expected {want!r}",
        )
    # a chain: A ~ B and B ~ C (Jaccard about 0.5) but A !~ C (about 0.2); B goes, C stays (B was removed)
    chain = [" ".join(BASE[i : i + 3]) for i in range(3)]
    chained = [BASE[5], *chain, BASE[0]]
    loose = dict(num_perm=64, bands=32, rows=2, n=5, seed=3)
    got = sub.call("dedup.near_dedup", chained, 0.4, **loose)
    want = O.near_kept(chained, 0.4, **loose)
    expect(
        got == want,
        f"near_dedup of a chain A ~ B ~ C with A !~ C (threshold=0.4, {loose}) kept {got!r}; expected "
        f"{want!r}: compare each document with the earlier documents that were kept only",
    )
    got = sub.call("dedup.deduplicate", docs, 0.5, **params)
    exact = []
    seen = set()
    for i, d in enumerate(docs):
        if O._normalize_pinned(d) not in seen:
            seen.add(O._normalize_pinned(d))
            exact.append(i)
    near = [exact[k] for k in O.near_kept([docs[i] for i in exact], 0.5, **params)]
    want = {
        "kept": near,
        "exact_removed": len(docs) - len(exact),
        "near_removed": len(exact) - len(near),
        "fraction_removed": (len(docs) - len(near)) / len(docs),
    }
    expect(
        isinstance(got, dict) and set(got) == set(want),
        f"deduplicate must return a dict with keys {sorted(want)}",
    )
    for key in ("kept", "exact_removed", "near_removed"):
        expect(got[key] == want[key], f"deduplicate(...)[{key!r}] gave {got[key]!r}; expected {want[key]!r}")
    O.expect_number(
        got["fraction_removed"], want["fraction_removed"], what="deduplicate fraction_removed", rtol=1e-12
    )
    empty = sub.call("dedup.deduplicate", [], 0.5, **params)
    expect(
        empty == {"kept": [], "exact_removed": 0, "near_removed": 0, "fraction_removed": 0.0},
        f"deduplicate([]) gave {empty!r}; expected no documents kept or removed and fraction_removed 0.0",
    )
