"""Task 4, a byte-level BPE tokenizer (30 points).

Oracles: small hand-checked merge lists (the first merge of the Sennrich et al. example is a tie of 9 between
(e, s) and (s, t), won by the greater pair (s, t)); the ``tokenizers`` library's byte-level BPE trained on the
same text, compared merge by merge over a prefix where no counts tie (the first tie of this corpus is at merge
36, found with a recount of all pairs); ``tokenizers``' BPE model built from your own merges as the encoding
oracle; round trips on random Unicode; UTF-8 for decoding. The hidden suite checks more corpora exactly and
times training against an incremental trainer on the grading machine.
"""

import time

import _common as C
import pytest

from autograder.checks import expect

EOT = "<|endoftext|>"
SENNRICH = "low low low low low lower lower newest newest newest newest newest newest widest widest widest"


def _merges(sub, text, vocab_size, specials):
    got = sub.call("bpe.train_bpe", text, vocab_size, specials)
    expect(isinstance(got, list), f"train_bpe returned a value of type {type(got).__name__}, expected a list")
    return [tuple(m) for m in got]


@pytest.mark.points(3)
def test_split_on_special(sub):
    """split_on_special keeps special tokens whole (longest first)"""
    got = sub.call("bpe.split_on_special", "a<|x|>b<|x|><|y|>", ["<|x|>", "<|x|><|y|>"])
    expect(got == ["a", "<|x|>", "b", "<|x|><|y|>"], f"split_on_special gave {got!r}")


@pytest.mark.points(7)
def test_train_small(sub):
    """train_bpe on two hand-checked texts: ties by bytes, pairs inside words only, a pair repeated in a
    word"""
    got = _merges(sub, SENNRICH, 264, [])
    want = [(115, 116), (101, 256), (111, 119), (108, 258), (119, 257), (110, 101), (261, 260), (32, 262)]
    expect(got == want, f"train_bpe(Sennrich's example, 264) gave {got!r}; expected {want!r} "
           "(s t, e st, o w, l ow, w est, n e, ne west, ' ' newest)")  # fmt: skip
    got = _merges(sub, "aaa aaaa abab ab ab", 263, [])
    want = [(97, 97), (97, 98), (32, 257), (256, 256), (256, 97), (258, 257), (32, 259)]
    expect(got == want, f"train_bpe('aaa aaaa abab ab ab', 263) gave {got!r}; expected {want!r}")


@pytest.mark.points(5)
def test_agrees_with_tokenizers(sub):
    """the first 36 merges (no tied counts) equal those of the tokenizers library's byte-level BPE"""
    text = C.make_corpus(101, 20000, n_words=1000)
    got = C.merges_as_bytes(_merges(sub, text, 400, [EOT]))
    theirs = C.hf_trained_merges(text, 400, [EOT])
    first = next((i for i in range(36) if i >= len(got) or got[i] != theirs[i]), None)
    expect(first is None, f"merge {first} differs from the tokenizers library's on the same text")


@pytest.mark.points(6)
def test_encode_and_round_trip(sub, rng):
    """encode equals tokenizers' BPE with your merges; decode(encode(x)) == x on random Unicode"""
    text = C.make_corpus(7, 8000, n_words=500)
    merges = _merges(sub, text, 330, [EOT])
    tok = sub.new("bpe.Tokenizer", merges, [EOT])
    oracle = C.hf_encoder(merges, [EOT])
    sample = text[:500] + EOT + C.random_unicode(rng, 80)
    expect(
        tok.call("encode", sample) == oracle(sample), "encode differs from the BPE model with the same merges"
    )
    for _ in range(5):
        s = C.random_unicode(rng, 30) + EOT + C.random_unicode(rng, 10)
        expect(tok.call("decode", tok.call("encode", s)) == s, f"decode(encode(s)) != s for s = {s!r}")


@pytest.mark.points(4)
def test_special_and_partial_utf8(sub):
    """special tokens get their own id; decode joins bytes before decoding (é as two byte tokens)"""
    tok = sub.new("bpe.Tokenizer", [(104, 105)], [EOT])
    got = tok.call("encode", "hi" + EOT + "hi")
    expect(got == [256, 257, 256], f"encode('hi<|endoftext|>hi') with one merge (h, i) gave {got!r}")
    got = tok.call("decode", [0xC3, 0xA9])
    expect(got == "é", f"decode([0xC3, 0xA9]) gave {got!r}; expected 'é'")


@pytest.mark.points(2)
def test_compression_ratio(sub):
    """compression_ratio = UTF-8 bytes per token"""
    tok = sub.new("bpe.Tokenizer", [(104, 105)], [])
    C.expect_number(
        sub.call("bpe.compression_ratio", tok, "hihi é"), 7 / 5, what="compression_ratio('hihi é')"
    )


@pytest.mark.points(3)
def test_speed(sub):
    """train_bpe on 120 KB with 1,000 merges takes under 10 s (a full recount per merge takes longer)"""
    text = C.make_corpus(11, 120000, n_words=8000)
    start = time.perf_counter()
    sub.call("bpe.train_bpe", text, 1256, [], timeout=12.0)
    took = time.perf_counter() - start
    expect(
        took < 10.0,
        f"train_bpe took {took:.1f} s on 120 KB with 1,000 merges; update the counts incrementally",
    )
