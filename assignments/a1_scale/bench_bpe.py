"""Benchmark: this folder's BPE trainer against the Hugging Face `tokenizers` library (Rust) on 1 MB of text.

    python bench_bpe.py [--megabytes 1.0] [--vocab-size 1024]

Both train a byte-level BPE with the same pre-tokenizer (GPT-2's pattern) and vocabulary size on the same
generated text, once each; the script prints both times, the ratio, and how many leading merges agree (up to
the first tie of counts the two must agree; the library breaks ties differently). It imports `bpe` from the
folder it is in (your workspace), or from the kit's reference solution when run inside the kit.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if not (HERE / "bpe.py").exists():  # inside the kit: the reference solution
    sys.path.insert(0, str(HERE.parents[1] / "solutions" / HERE.name))

import bpe  # noqa: E402


def make_text(n_chars: int, seed: int = 0) -> str:
    """English-like text: 5000 made-up words with Zipf frequencies, in sentences with punctuation."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "fi", "do", "gu", "ha",
                 "je",
                 "an", "el", "is", "or", "um", "th", "st", "re"]  # fmt: skip
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(5000)]
    weights = [1.0 / (i + 1) for i in range(len(words))]
    out, size = [], 0
    while size < n_chars:
        sentence = " ".join(rng.choices(words, weights, k=rng.randint(4, 16))).capitalize()
        sentence += rng.choice([". ", "! ", "? ", ", ", ".\n"])
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:n_chars]


def library_merges(text: str, vocab_size: int) -> tuple[float, list[str]]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=0,
        show_progress=False,
    )
    start = time.perf_counter()
    tok.train_from_iterator(text.splitlines(keepends=True), trainer)  # lines: the library works per item
    took = time.perf_counter() - start
    merges = json.loads(tok.to_str())["model"]["merges"]
    return took, [m if isinstance(m, str) else " ".join(m) for m in merges]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--vocab-size", type=int, default=1024)
    args = parser.parse_args()
    text = make_text(int(args.megabytes * 1_000_000))
    print(f"text: {len(text.encode('utf-8')):,} bytes, vocab_size {args.vocab_size}")

    start = time.perf_counter()
    merges = bpe.train_bpe(text, args.vocab_size)
    ours = time.perf_counter() - start
    theirs, their_merges = library_merges(text, args.vocab_size)

    # the library writes merges in GPT-2's byte-to-character alphabet; map ours the same way to compare
    printable = [*range(33, 127), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    vocab = {b: bytes([b]) for b in range(256)}
    mine = []
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
        mine.append("".join(chars[x] for x in vocab[a]) + " " + "".join(chars[x] for x in vocab[b]))
    agree = next((i for i, (x, y) in enumerate(zip(mine, their_merges, strict=False)) if x != y), len(mine))

    print(f"bpe.train_bpe : {ours:7.2f} s  ({len(merges)} merges)")
    print(f"tokenizers    : {theirs:7.2f} s  ({len(their_merges)} merges)")
    print(f"ratio         : {ours / theirs:7.1f} x")
    print(f"leading merges that agree: {agree}")


if __name__ == "__main__":
    main()
