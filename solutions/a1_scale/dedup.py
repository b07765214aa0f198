"""Removing duplicates from a corpus: exact duplicates by hashing a normalised text, near duplicates by
MinHash
and locality-sensitive hashing (LSH) over character shingles.

Everything here is pinned (see the handout), so that two implementations give the same signatures bit for bit:

- normalisation: Unicode NFKC, then ``str.lower()``, then every run of whitespace becomes one space, then
  leading and trailing spaces are stripped;
- shingles: the set of character n-grams of the normalised text (a text shorter than n is one shingle);
- the hash of a shingle: the first 4 bytes of its SHA-1 digest (UTF-8 input) read as a little-endian
  integer x;
- the hash family: h_i(x) = (a_i * x + b_i) mod p with the Mersenne prime p = 2**31 - 1, ``a =
  rng.integers(1, p,
  size=P)`` and then ``b = rng.integers(0, p, size=P)`` from ``rng = numpy.random.default_rng(seed)``
  (uint64);
- the signature: for each i, the minimum of h_i over the shingles;
- LSH: ``bands`` bands of ``rows`` consecutive signature entries (band j holds entries j*rows ..
  j*rows+rows-1);
  two documents are candidates when all entries of at least one band are equal.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

MERSENNE_31 = (1 << 31) - 1


def normalize(text: str) -> str:
    """NFKC, lower case, whitespace runs collapsed to one space, stripped."""
    # BEGIN SOLUTION
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\s+", " ", text).strip()
    # END SOLUTION


def exact_dedup(docs: list[str]) -> list[int]:
    """Indices of the documents kept: the first of each group whose normalised texts are equal, in order.

    Use a hash of the normalised text (e.g. SHA-256 of its UTF-8 bytes) as the key of a set, so that a corpus
    never has to be compared pairwise.
    """
    # BEGIN SOLUTION
    seen: set[bytes] = set()
    kept = []
    for i, doc in enumerate(docs):
        key = hashlib.sha256(normalize(doc).encode("utf-8")).digest()
        if key not in seen:
            seen.add(key)
            kept.append(i)
    return kept
    # END SOLUTION


def shingles(text: str, n: int = 5) -> set[str]:
    """The set of character n-grams of ``normalize(text)``; a normalised text shorter than n is one
    shingle."""
    # BEGIN SOLUTION
    text = normalize(text)
    if len(text) < n:
        return {text}
    return {text[i : i + n] for i in range(len(text) - n + 1)}
    # END SOLUTION


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b| (1.0 for two empty sets)."""
    # BEGIN SOLUTION
    union = len(a | b)
    return len(a & b) / union if union else 1.0
    # END SOLUTION


def hash_family(num_perm: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The pinned (a, b) coefficients, two uint64 arrays of length ``num_perm``."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, MERSENNE_31, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, MERSENNE_31, size=num_perm, dtype=np.uint64)
    return a, b


def shingle_hash(shingle: str) -> int:
    """The first 4 bytes of SHA-1 of the shingle's UTF-8 bytes, as a little-endian unsigned integer."""
    return int.from_bytes(hashlib.sha1(shingle.encode("utf-8")).digest()[:4], "little")


def minhash_signature(text: str, num_perm: int = 128, n: int = 5, seed: int = 0) -> np.ndarray:
    """MinHash signature of ``text``'s n-gram shingles: an int64 array of ``num_perm`` values in [0, 2**31
    - 1).

    a_i * x + b_i < 2**31 * 2**32 + 2**31 < 2**64, so the products are exact in uint64.
    """
    # BEGIN SOLUTION
    a, b = hash_family(num_perm, seed)
    x = np.array([shingle_hash(s) for s in shingles(text, n)], dtype=np.uint64)  # [S]
    values = (a[:, None] * x[None, :] + b[:, None]) % np.uint64(MERSENNE_31)  # [P, S]
    return values.min(axis=1).astype(np.int64)
    # END SOLUTION


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The MinHash estimate of the Jaccard similarity: the fraction of equal signature entries."""
    # BEGIN SOLUTION
    return float(np.mean(np.asarray(sig_a) == np.asarray(sig_b)))
    # END SOLUTION


def lsh_candidates(signatures: list[np.ndarray], bands: int, rows: int) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of documents that agree on all entries of at least one band; sorted, no repeats.

    ``bands * rows`` must equal the signature length (ValueError otherwise). Bucket each band's slice with a
    dict instead of comparing all pairs.
    """
    # BEGIN SOLUTION
    if any(len(s) != bands * rows for s in signatures):
        raise ValueError(f"signatures must have bands * rows = {bands * rows} entries")
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[tuple[int, ...], list[int]] = {}
        for i, sig in enumerate(signatures):
            key = tuple(int(v) for v in sig[band * rows : (band + 1) * rows])
            buckets.setdefault(key, []).append(i)
        for members in buckets.values():
            pairs.update(
                (members[x], members[y]) for x in range(len(members)) for y in range(x + 1, len(members))
            )
    return sorted(pairs)
    # END SOLUTION


def near_dedup(
    docs: list[str],
    threshold: float = 0.8,
    num_perm: int = 128,
    bands: int = 32,
    rows: int = 4,
    n: int = 5,
    seed: int = 0,
) -> list[int]:
    """Indices of the documents kept after near-duplicate removal, in order.

    Documents are visited in order; document j is removed when an earlier document i that is **kept** is an
    LSH candidate of j and ``estimate_jaccard`` of their signatures is >= ``threshold``.
    """
    # BEGIN SOLUTION
    signatures = [minhash_signature(doc, num_perm, n, seed) for doc in docs]
    partners: dict[int, list[int]] = {}
    for i, j in lsh_candidates(signatures, bands, rows):
        partners.setdefault(j, []).append(i)
    kept: list[int] = []
    kept_set: set[int] = set()
    for j in range(len(docs)):
        duplicate = any(
            i in kept_set and estimate_jaccard(signatures[i], signatures[j]) >= threshold
            for i in partners.get(j, [])
        )
        if not duplicate:
            kept.append(j)
            kept_set.add(j)
    return kept
    # END SOLUTION


def deduplicate(docs: list[str], threshold: float = 0.8, **minhash: int) -> dict:
    """Exact then near-duplicate removal. Returns {"kept": indices into ``docs``, "exact_removed": int,
    "near_removed": int, "fraction_removed": float}; ``minhash`` holds near_dedup's other keywords."""
    # BEGIN SOLUTION
    exact = exact_dedup(docs)
    near = near_dedup([docs[i] for i in exact], threshold, **minhash)
    kept = [exact[k] for k in near]
    return {
        "kept": kept,
        "exact_removed": len(docs) - len(exact),
        "near_removed": len(exact) - len(near),
        "fraction_removed": (len(docs) - len(kept)) / len(docs) if docs else 0.0,
    }
    # END SOLUTION
