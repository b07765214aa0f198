"""Alternative: BPE training with a lazy max-heap of pair counts, special tokens split by a manual scan, and
encoding that applies merges in rank order over a linked list of tokens."""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict

PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
_PRETOKEN = re.compile(PATTERN)


def split_on_special(text: str, special_tokens: list[str]) -> list[str]:
    by_length = sorted(special_tokens, key=len, reverse=True)
    pieces, start, i = [], 0, 0
    while i < len(text):
        match = next((s for s in by_length if s and text.startswith(s, i)), None)
        if match is None:
            i += 1
            continue
        if i > start:
            pieces.append(text[start:i])
        pieces.append(match)
        i += len(match)
        start = i
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def pretokenize(text: str) -> list[str]:
    return _PRETOKEN.findall(text)


def _pairs(word):
    return list(zip(word, word[1:], strict=False))


def _merge_word(word, pair, new_id):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


class _Entry:
    """Heap entry: the smallest entry is the highest count, then the greatest byte pair."""

    __slots__ = ("count", "key", "pair")

    def __init__(self, count: int, key: tuple[bytes, bytes], pair: tuple[int, int]) -> None:
        self.count, self.key, self.pair = count, key, pair

    def __lt__(self, other: _Entry) -> bool:
        if self.count != other.count:
            return self.count > other.count
        return self.key > other.key


def train_bpe(text: str, vocab_size: int, special_tokens: list[str] = ()) -> list[tuple[int, int]]:
    specials = set(special_tokens)
    counts: Counter[str] = Counter()
    for piece in split_on_special(text, list(special_tokens)):
        if piece not in specials:
            counts.update(pretokenize(piece))
    words = [list(w.encode("utf-8")) for w in counts]
    freqs = list(counts.values())
    vocab = [bytes([b]) for b in range(256)]
    stats: Counter = Counter()
    holders: defaultdict = defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:], strict=False):
            stats[p] += freqs[i]
            holders[p].add(i)
    heap = [_Entry(c, (vocab[p[0]], vocab[p[1]]), p) for p, c in stats.items()]
    heapq.heapify(heap)
    merges = []
    target = vocab_size - 256 - len(special_tokens)
    while len(merges) < target and heap:
        top = heapq.heappop(heap)
        if stats.get(top.pair, 0) != top.count or top.count <= 0:
            continue  # stale entry
        a, b = top.pair
        new = 256 + len(merges)
        merges.append((a, b))
        vocab.append(vocab[a] + vocab[b])
        touched = set()
        for i in holders.pop((a, b), set()):
            w = words[i]
            if not any(w[k] == a and w[k + 1] == b for k in range(len(w) - 1)):
                continue
            for p in zip(w, w[1:], strict=False):
                stats[p] -= freqs[i]
                touched.add(p)
            w = list(_merge_word(w, (a, b), new))
            words[i] = w
            for p in zip(w, w[1:], strict=False):
                stats[p] += freqs[i]
                holders[p].add(i)
                touched.add(p)
        stats.pop((a, b), None)
        for p in touched:
            c = stats.get(p, 0)
            if c > 0:
                heapq.heappush(heap, _Entry(c, (vocab[p[0]], vocab[p[1]]), p))
            else:
                stats.pop(p, None)
    return merges


class Tokenizer:
    def __init__(self, merges: list[tuple[int, int]], special_tokens: list[str] = ()) -> None:
        self.merges = [tuple(m) for m in merges]
        self.special_tokens = list(special_tokens)
        self.vocab = {b: bytes([b]) for b in range(256)}
        self.rank = {}
        for i, (a, b) in enumerate(self.merges):
            self.vocab[256 + i] = self.vocab[a] + self.vocab[b]
            self.rank[(a, b)] = i
        self.special = {}
        for j, s in enumerate(self.special_tokens):
            self.special[s] = 256 + len(self.merges) + j
            self.vocab[256 + len(self.merges) + j] = s.encode("utf-8")

    def _encode_pretoken(self, pretoken: str) -> list[int]:
        tokens = list(pretoken.encode("utf-8"))
        while True:
            ranks = [self.rank.get((tokens[k], tokens[k + 1])) for k in range(len(tokens) - 1)]
            valid = [r for r in ranks if r is not None]
            if not valid:
                return tokens
            r = min(valid)
            tokens = list(_merge_word(tokens, self.merges[r], 256 + r))

    def encode(self, text: str) -> list[int]:
        out = []
        for piece in split_on_special(text, self.special_tokens):
            if piece in self.special:
                out.append(self.special[piece])
            else:
                for pt in pretokenize(piece):
                    out += self._encode_pretoken(pt)
        return out

    def decode(self, ids: list[int]) -> str:
        data = bytearray()
        for i in ids:
            data += self.vocab[i]
        return bytes(data).decode("utf-8", errors="replace")


def compression_ratio(tokenizer: Tokenizer, text: str) -> float:
    n_bytes = len(text.encode("utf-8"))
    return n_bytes / len(tokenizer.encode(text))
