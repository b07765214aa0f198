"""A byte-level BPE tokenizer: the piece of the data leg that decides what a "token" is.

Token ids (pinned):
- 0..255 are the 256 single bytes (id b is the byte b);
- 256, 257, ... are the merges in the order they were learned: merge i joins two existing tokens into id
  256 + i;
- the special tokens come last, in the order given: 256 + len(merges) + j.

Training (pinned): the text is first cut at the special tokens (which are dropped: they never take part in a
merge), each piece is split into pre-tokens by ``PATTERN`` (GPT-2's), and pairs are counted inside pre-tokens
only, each pre-token weighted by how often it occurs. Every step merges the most frequent adjacent pair; among
pairs of equal count the lexicographically greater pair wins, comparing ``(bytes of left, bytes of right)`` as
Python compares tuples of bytes. Training stops after ``vocab_size - 256 - len(special_tokens)`` merges, or
earlier when no pair is left.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

# GPT-2's pre-tokenizer: contractions, runs of letters, runs of digits, runs of other symbols (each optionally
# after one space), and whitespace. GPT-2 writes it with \p{L} (letters) and \p{N} (numbers) for the `regex`
# package; this is the same pattern for the standard `re` module, with [^\W\d_] for letters and \d for
# digits. The two agree except on the rare numeric characters that are not decimal digits (such as "²", "½").
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
_PRETOKEN = re.compile(PATTERN)


def split_on_special(text: str, special_tokens: list[str]) -> list[str]:
    """Cut ``text`` at every occurrence of a special token; the special tokens are kept as pieces of their
    own.

    Longer special tokens are matched first (so ``"<|a|><|b|>"`` wins over ``"<|a|>"`` where both match).
    Empty pieces are dropped. With no special tokens the result is ``[text]`` (or ``[]`` for ``""``).
    Example: ``split_on_special("a<|x|>b", ["<|x|>"]) == ["a", "<|x|>", "b"]``.
    """
    # BEGIN SOLUTION
    if not special_tokens:
        return [text] if text else []
    ordered = sorted(special_tokens, key=len, reverse=True)
    splitter = re.compile("(" + "|".join(re.escape(s) for s in ordered) + ")")
    return [piece for piece in splitter.split(text) if piece]
    # END SOLUTION


def pretokenize(text: str) -> list[str]:
    """Split a text without special tokens into pre-tokens with ``PATTERN``; they concatenate back to
    ``text``."""
    return _PRETOKEN.findall(text)


def _pairs(word: tuple[int, ...]) -> list[tuple[int, int]]:
    return list(zip(word, word[1:], strict=False))


def _merge_word(word: tuple[int, ...], pair: tuple[int, int], new_id: int) -> tuple[int, ...]:
    """Replace every occurrence of ``pair`` in ``word``, left to right and without overlaps, by ``new_id``."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train_bpe(text: str, vocab_size: int, special_tokens: list[str] = ()) -> list[tuple[int, int]]:
    """Learn BPE merges on ``text``; returns the merges in order as pairs of token ids ``(left, right)``.

    The vocabulary has ``vocab_size`` entries in the end: 256 bytes, the merges, the special tokens. Pair
    counts must be updated incrementally: after a merge only the pre-tokens that contain the merged pair
    change, so recounting every pair of the corpus at every step is far too slow for the tests' time limit.
    """
    # BEGIN SOLUTION
    special_tokens = list(special_tokens)
    n_merges = vocab_size - 256 - len(special_tokens)
    # Unique pre-tokens as tuples of byte ids, with their frequencies.
    counts: Counter[str] = Counter()
    for piece in split_on_special(text, special_tokens):
        if piece not in special_tokens:
            counts.update(pretokenize(piece))
    words = [tuple(w.encode("utf-8")) for w in counts]
    freqs = list(counts.values())

    pair_counts: Counter[tuple[int, int]] = Counter()
    where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words that may contain it
    for i, word in enumerate(words):
        for pair in _pairs(word):
            pair_counts[pair] += freqs[i]
            where[pair].add(i)

    token_bytes = [bytes([b]) for b in range(256)]
    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges and pair_counts:
        top = max(pair_counts.values())
        best = max(
            (p for p, c in pair_counts.items() if c == top),
            key=lambda p: (token_bytes[p[0]], token_bytes[p[1]]),
        )
        new_id = 256 + len(merges)
        merges.append(best)
        token_bytes.append(token_bytes[best[0]] + token_bytes[best[1]])
        # Only the words that contain `best` change: take their old pairs out and put their new pairs in.
        for i in where.pop(best):
            old = words[i]
            new = _merge_word(old, best, new_id)
            if new == old:
                continue
            for pair in _pairs(old):
                pair_counts[pair] -= freqs[i]
                if pair_counts[pair] == 0:
                    del pair_counts[pair]
            for pair in _pairs(new):
                pair_counts[pair] += freqs[i]
                where[pair].add(i)
            words[i] = new
    return merges
    # END SOLUTION


class Tokenizer:
    """Encode text to token ids and back, with the merges ``train_bpe`` learned.

    ``vocab`` maps every id to its bytes (bytes, merges, special tokens encoded as UTF-8).
    """

    def __init__(self, merges: list[tuple[int, int]], special_tokens: list[str] = ()) -> None:
        self.merges = [tuple(m) for m in merges]
        self.special_tokens = list(special_tokens)
        # BEGIN SOLUTION
        self.vocab: dict[int, bytes] = {b: bytes([b]) for b in range(256)}
        self.ranks: dict[tuple[int, int], int] = {}
        for i, (left, right) in enumerate(self.merges):
            self.vocab[256 + i] = self.vocab[left] + self.vocab[right]
            self.ranks[(left, right)] = i
        self.special_ids = {s: 256 + len(self.merges) + j for j, s in enumerate(self.special_tokens)}
        for s, i in self.special_ids.items():
            self.vocab[i] = s.encode("utf-8")
        self._cache: dict[str, list[int]] = {}
        # END SOLUTION

    def _encode_pretoken(self, pretoken: str) -> list[int]:
        """Apply the merges to one pre-token: repeatedly merge the adjacent pair learned earliest."""
        # BEGIN SOLUTION
        if pretoken in self._cache:
            return self._cache[pretoken]
        word = tuple(pretoken.encode("utf-8"))
        while len(word) > 1:
            pair = min(_pairs(word), key=lambda p: self.ranks.get(p, len(self.ranks)))
            if pair not in self.ranks:
                break
            word = _merge_word(word, pair, 256 + self.ranks[pair])
        self._cache[pretoken] = list(word)
        return self._cache[pretoken]
        # END SOLUTION

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: special tokens become their own id, never split; every other piece is
        pre-tokenized with ``PATTERN`` and each pre-token is encoded on its own."""
        # BEGIN SOLUTION
        ids: list[int] = []
        for piece in split_on_special(text, self.special_tokens):
            if piece in self.special_ids:
                ids.append(self.special_ids[piece])
                continue
            for pretoken in pretokenize(piece):
                ids.extend(self._encode_pretoken(pretoken))
        return ids
        # END SOLUTION

    def decode(self, ids: list[int]) -> str:
        """The text of ``ids``: join the bytes of all tokens first, then decode UTF-8 once, with
        ``errors="replace"`` (a character may be split across tokens; invalid bytes become U+FFFD)."""
        # BEGIN SOLUTION
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")
        # END SOLUTION


def compression_ratio(tokenizer: Tokenizer, text: str) -> float:
    """UTF-8 bytes per token of ``text`` under ``tokenizer`` (higher compresses better)."""
    # BEGIN SOLUTION
    return len(text.encode("utf-8")) / len(tokenizer.encode(text))
    # END SOLUTION
