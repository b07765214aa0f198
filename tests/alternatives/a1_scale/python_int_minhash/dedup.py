"""Alternative: MinHash with Python integers, LSH by sorting band keys, near duplicates checked against the
kept documents directly."""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np

MERSENNE_31 = (1 << 31) - 1


def normalize(text: str) -> str:
    out, space = [], False
    for ch in unicodedata.normalize("NFKC", text).lower():
        if ch.isspace() or ch in "\x1c\x1d\x1e\x1f\x85":
            space = True
            continue
        if space and out:
            out.append(" ")
        space = False
        out.append(ch)
    return "".join(out)


def exact_dedup(docs: list[str]) -> list[int]:
    first: dict[str, int] = {}
    for i, d in enumerate(docs):
        first.setdefault(hashlib.md5(normalize(d).encode("utf-8")).hexdigest(), i)
    return sorted(first.values())


def shingles(text: str, n: int = 5) -> set[str]:
    t = normalize(text)
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a.intersection(b)) / len(a.union(b))


def hash_family(num_perm: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, MERSENNE_31, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, MERSENNE_31, size=num_perm, dtype=np.uint64)
    return a, b


def shingle_hash(shingle: str) -> int:
    return int.from_bytes(hashlib.sha1(shingle.encode("utf-8")).digest()[:4], "little")


def minhash_signature(text: str, num_perm: int = 128, n: int = 5, seed: int = 0) -> np.ndarray:
    a, b = hash_family(num_perm, seed)
    xs = [shingle_hash(s) for s in shingles(text, n)]
    sig = [min((int(ai) * x + int(bi)) % MERSENNE_31 for x in xs) for ai, bi in zip(a, b, strict=True)]
    return np.array(sig, dtype=np.int64)


def estimate_jaccard(sig_a, sig_b) -> float:
    same = sum(int(x) == int(y) for x, y in zip(sig_a, sig_b, strict=True))
    return same / len(sig_a)


def lsh_candidates(signatures, bands: int, rows: int) -> list[tuple[int, int]]:
    for s in signatures:
        if len(s) != bands * rows:
            raise ValueError("bands * rows must equal the signature length")
    found = set()
    for band in range(bands):
        keyed = sorted(
            (tuple(int(v) for v in s[band * rows : band * rows + rows]), i) for i, s in enumerate(signatures)
        )
        start = 0
        for end in range(1, len(keyed) + 1):
            if end == len(keyed) or keyed[end][0] != keyed[start][0]:
                group = [i for _, i in keyed[start:end]]
                found.update((x, y) for x in group for y in group if x < y)
                start = end
    return sorted(found)


def near_dedup(docs, threshold=0.8, num_perm=128, bands=32, rows=4, n=5, seed=0) -> list[int]:
    sigs = [minhash_signature(d, num_perm, n, seed) for d in docs]
    pairs = set(lsh_candidates(sigs, bands, rows))
    kept: list[int] = []
    for j in range(len(docs)):
        if all((i, j) not in pairs or estimate_jaccard(sigs[i], sigs[j]) < threshold for i in kept):
            kept.append(j)
    return kept


def deduplicate(docs: list[str], threshold: float = 0.8, **minhash: int) -> dict:
    survivors = exact_dedup(docs)
    near = near_dedup([docs[i] for i in survivors], threshold, **minhash)
    kept = [survivors[k] for k in near]
    total = len(docs)
    return {
        "kept": kept,
        "exact_removed": total - len(survivors),
        "near_removed": len(survivors) - len(kept),
        "fraction_removed": 0.0 if total == 0 else 1 - len(kept) / total,
    }
