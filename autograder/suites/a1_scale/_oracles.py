"""Trusted-side oracles of the a1 hidden suite: computations a submission is compared with.

The library oracles (Hugging Face models, FlopCounterMode, ``tokenizers``) and the corpora come from the
public tests' ``_common.py``, so that both suites build them the same way. This module adds what the public
tests must not ship, because it would hand out the answer:

- a BPE trainer of the pinned rules (pair counts updated per affected word, ties to the greater byte pair),
  used for the exact merge lists and to calibrate the time limit on the grading machine;
- a from-scratch recount of the pair counts before each merge, to find the first tie of a merge list;
- MinHash signatures of the pinned hash family in plain Python integers (no numpy overflow rules involved);
- LSH candidates by brute force over all pairs and bands, and the near-duplicate rule.

Test files import it as ``_oracles``; it never imports student code.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections import Counter

import numpy as np

from autograder.course import kit_root

sys.path.insert(0, str(kit_root() / "tests" / "public" / "a1_scale"))
from _common import *  # noqa: E402, F403
from _common import make_corpus  # noqa: E402, F401

# The handout's pattern for the standard `re` module (GPT-2's, with [^\W\d_] for \p{L} and \d for \p{N}).
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
_SPLIT = re.compile(PATTERN)

# ------------------------------------------------------------------------------------------------- BPE


def _word_counts(text: str, special_tokens: list[str]) -> Counter:
    pieces = [text]
    for s in sorted(special_tokens, key=len, reverse=True):
        pieces = [part for piece in pieces for part in piece.split(s)]
    counts: Counter = Counter()
    for piece in pieces:
        counts.update(_SPLIT.findall(piece))
    return counts


def _merge(word: tuple, a: int, b: int, new: int) -> tuple:
    out, i, n = [], 0, len(word)
    while i < n:
        if i < n - 1 and word[i] == a and word[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train_bpe(text: str, vocab_size: int, special_tokens: list[str] = ()) -> list[tuple[int, int]]:
    """The pinned BPE rules, incremental: after a merge only the words holding the pair are recounted."""
    special_tokens = list(special_tokens)
    counts = _word_counts(text, special_tokens)
    words = {i: tuple(w.encode("utf-8")) for i, w in enumerate(counts)}
    freq = dict(enumerate(counts.values()))
    stats: Counter = Counter()
    index: dict[tuple[int, int], set[int]] = {}
    for i, w in words.items():
        for p in zip(w, w[1:], strict=False):
            stats[p] += freq[i]
            index.setdefault(p, set()).add(i)
    pieces = [bytes([b]) for b in range(256)]
    merges: list[tuple[int, int]] = []
    for step in range(vocab_size - 256 - len(special_tokens)):
        if not stats:
            break
        most = max(stats.values())
        a, b = max((p for p in stats if stats[p] == most), key=lambda p: (pieces[p[0]], pieces[p[1]]))
        new = 256 + step
        merges.append((a, b))
        pieces.append(pieces[a] + pieces[b])
        for i in index.pop((a, b), ()):
            old = words[i]
            merged = _merge(old, a, b, new)
            if merged == old:
                continue
            for p in zip(old, old[1:], strict=False):
                stats[p] -= freq[i]
                if not stats[p]:
                    del stats[p]
            for p in zip(merged, merged[1:], strict=False):
                stats[p] += freq[i]
                index.setdefault(p, set()).add(i)
            words[i] = merged
    return merges


def first_tie(text: str, special_tokens: list[str], merges: list) -> int:
    """Index of the first merge chosen among several pairs of the same top count (a from-scratch recount
    before every merge); ``len(merges)`` when no step had a tie."""
    words = {tuple(w.encode("utf-8")): f for w, f in _word_counts(text, list(special_tokens)).items()}
    for step, (a, b) in enumerate(merges):
        stats: Counter = Counter()
        for w, f in words.items():
            for p in zip(w, w[1:], strict=False):
                stats[p] += f
        top = stats.most_common(2)
        if len(top) == 2 and top[0][1] == top[1][1]:
            return step
        merged: dict = {}
        for w, f in words.items():
            key = _merge(w, a, b, 256 + step)
            merged[key] = merged.get(key, 0) + f
        words = merged
    return len(merges)


# ---------------------------------------------------------------------------------------------- dedup

PRIME = (1 << 31) - 1


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def _normalize_pinned(text: str) -> str:
    """The handout's rule literally: re's \\s runs -> one space, strip (str.split may differ on rare
    separators, so the suite uses this one)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def shingle_set(text: str, n: int = 5) -> set[str]:
    t = _normalize_pinned(text)
    return {t} if len(t) < n else {t[i : i + n] for i in range(len(t) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def signature(text: str, num_perm: int = 128, n: int = 5, seed: int = 0) -> list[int]:
    """MinHash of the pinned family with Python integers."""
    rng = np.random.default_rng(seed)
    a = [int(v) for v in rng.integers(1, PRIME, size=num_perm, dtype=np.uint64)]
    b = [int(v) for v in rng.integers(0, PRIME, size=num_perm, dtype=np.uint64)]
    xs = [
        int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little") for s in shingle_set(text, n)
    ]
    return [min((ai * x + bi) % PRIME for x in xs) for ai, bi in zip(a, b, strict=True)]


def candidates(signatures: list[list[int]], bands: int, rows: int) -> list[tuple[int, int]]:
    """Every pair compared on every band."""
    out = []
    for i in range(len(signatures)):
        for j in range(i + 1, len(signatures)):
            if any(
                list(signatures[i][k * rows : (k + 1) * rows])
                == list(signatures[j][k * rows : (k + 1) * rows])
                for k in range(bands)
            ):
                out.append((i, j))
    return out


def near_kept(docs: list[str], threshold: float, num_perm: int, bands: int, rows: int, n: int, seed: int):
    sigs = [signature(d, num_perm, n, seed) for d in docs]
    pairs = set(candidates(sigs, bands, rows))
    kept: list[int] = []
    for j in range(len(docs)):
        if not any(
            (i, j) in pairs
            and sum(x == y for x, y in zip(sigs[i], sigs[j], strict=True)) / num_perm >= threshold
            for i in kept
        ):
            kept.append(j)
    return kept
