"""Helpers of the a1 public tests: library oracles built offline, and the corpora the tests draw.

- Hugging Face ``GPT2LMHeadModel``, ``LlamaForCausalLM`` and ``MixtralForCausalLM`` built from tiny random
  configs (eager attention; nothing is downloaded), and on the meta device for published sizes: their
  ``sum(p.numel())`` is the parameter count, and ``torch.utils.flop_counter.FlopCounterMode`` on their forward
  and backward passes is the FLOP count (it counts matrix products only, as the handout's convention does).
- The ``tokenizers`` library's byte-level BPE: trained on a text (its merges converted back to bytes), or
  built from given merges to encode with them.
- Seeded text generators. Like every test, the test files reach your code only through the ``sub`` fixture.
  The hidden suite uses these same helpers on other configurations and seeds.
"""

from __future__ import annotations

import json
import os
import random

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402
import transformers  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

transformers.logging.set_verbosity_error()

# ----------------------------------------------------------------------------------------- model oracles


def hf_gpt2(config: dict, meta: bool = False) -> torch.nn.Module:
    """A GPT2LMHeadModel with the kit's GPT-2 style config (d_ff -> n_inner, tied -> tie_word_embeddings)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    hf_config = GPT2Config(
        vocab_size=config["vocab_size"],
        n_positions=config["n_positions"],
        n_embd=config["d_model"],
        n_layer=config["n_layers"],
        n_head=config["n_heads"],
        n_inner=config.get("d_ff"),
        tie_word_embeddings=config.get("tied", True),
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        attn_implementation="eager",
    )
    with torch.device("meta" if meta else "cpu"):
        return GPT2LMHeadModel(hf_config).eval()


def hf_llama(config: dict, meta: bool = False) -> torch.nn.Module:
    """A LlamaForCausalLM, or a MixtralForCausalLM when the config has ``n_experts``."""
    from transformers import LlamaConfig, LlamaForCausalLM, MixtralConfig, MixtralForCausalLM

    common = dict(
        vocab_size=config["vocab_size"],
        hidden_size=config["d_model"],
        intermediate_size=config["d_ff"],
        num_hidden_layers=config["n_layers"],
        num_attention_heads=config["n_heads"],
        num_key_value_heads=config.get("n_kv_heads") or config["n_heads"],
        head_dim=config.get("head_dim") or config["d_model"] // config["n_heads"],
        tie_word_embeddings=config.get("tied", False),
        max_position_embeddings=64,
        attn_implementation="eager",
    )
    with torch.device("meta" if meta else "cpu"):
        if config.get("n_experts"):
            hf = MixtralForCausalLM(
                MixtralConfig(
                    **common,
                    num_local_experts=config["n_experts"],
                    num_experts_per_tok=config["experts_per_token"],
                )
            )
        else:
            hf = LlamaForCausalLM(LlamaConfig(**common))
    return hf.eval()


def numel(model: torch.nn.Module) -> int:
    """Parameters of a model, shared tensors counted once."""
    return sum(p.numel() for p in model.parameters())


def mixtral_active(model: torch.nn.Module, config: dict) -> int:
    """Parameters a token uses in a Mixtral model: all minus the share of the unused experts' tensors."""
    E, k = config["n_experts"], config["experts_per_token"]
    expert = sum(
        p.numel() for name, p in model.named_parameters() if ".mlp.experts." in name
    )  # fused [E, ...] tensors of every layer
    return numel(model) - expert * (E - k) // E


def flop_counts(model: torch.nn.Module, idx: torch.Tensor, backward: bool = False) -> dict[str, int]:
    """FlopCounterMode on a forward (and backward) pass: {"total", "matmul" (mm/addmm: weights), "bmm"
    (the attention products q k^T and weights v)}."""
    with FlopCounterMode(display=False) as counter:
        logits = model(idx).logits
        if backward:
            logits.float().sum().backward()
    counts = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    bmm = sum(n for op, n in counts.items() if "bmm" in op)
    total = counter.get_total_flops()
    return {"total": total, "matmul": total - bmm, "bmm": bmm}


# ------------------------------------------------------------------------------------------ tokenizers


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters (the alphabet of byte-level BPE)."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    )
    codes, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, codes, strict=True)}


BYTE_TO_CHAR = _bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def as_chars(data: bytes) -> str:
    return "".join(BYTE_TO_CHAR[b] for b in data)


def as_bytes(chars: str) -> bytes:
    return bytes(CHAR_TO_BYTE[c] for c in chars)


def merges_as_bytes(merges: list) -> list[tuple[bytes, bytes]]:
    """Merges given as id pairs (the kit's convention) -> pairs of byte strings."""
    vocab = {b: bytes([b]) for b in range(256)}
    out = []
    for i, (left, right) in enumerate(merges):
        out.append((vocab[left], vocab[right]))
        vocab[256 + i] = vocab[left] + vocab[right]
    return out


def hf_trained_merges(text: str, vocab_size: int, special_tokens: list[str]) -> list[tuple[bytes, bytes]]:
    """Merges of the ``tokenizers`` byte-level BPE trainer (GPT-2 regex, the 256 bytes as alphabet) on
    ``text``, as byte pairs. Its vocabulary counts the special tokens too, as the handout's does."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=0,
        show_progress=False,
    )
    tok.train_from_iterator([text], trainer)
    merges = json.loads(tok.to_str())["model"]["merges"]
    return [
        (as_bytes(a), as_bytes(b)) for a, b in (m if isinstance(m, list) else m.split(" ") for m in merges)
    ]


def hf_encoder(merges: list, special_tokens: list[str]):
    """A ``tokenizers`` byte-level BPE model built from the kit's id-pair ``merges``, with the kit's ids.
    ``encoder(text)`` returns its token ids."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    vocab = {as_chars(bytes([b])): b for b in range(256)}
    pairs = merges_as_bytes(merges)
    for i, (left, right) in enumerate(pairs):
        vocab[as_chars(left + right)] = 256 + i
    model = models.BPE(vocab=vocab, merges=[(as_chars(a), as_chars(b)) for a, b in pairs])
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if special_tokens:
        tok.add_special_tokens([AddedToken(s, normalized=False) for s in special_tokens])

    def encode(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False).ids

    return encode


# -------------------------------------------------------------------------------------------- corpora

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "fi", "do", "gu", "ha", "je"]
_ACCENTED = ["é", "ü", "ñ", "ø", "ç", "ß"]


def make_corpus(seed: int, n_chars: int, n_words: int = 2000) -> str:
    """Seeded text of made-up words with Zipf-like frequencies, punctuation, digits and a few accents:
    many distinct pre-tokens, as in real text, so that merges depend on frequencies over the whole corpus."""
    rng = random.Random(seed)
    words = []
    for _ in range(n_words):
        w = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.1:
            w += rng.choice(_ACCENTED)
        words.append(w)
    weights = [1.0 / (i + 1) for i in range(n_words)]
    out, size = [], 0
    while size < n_chars:
        sentence = " ".join(rng.choices(words, weights, k=rng.randint(4, 14)))
        if rng.random() < 0.2:
            sentence += f" {rng.randint(0, 9999)}"
        sentence = (
            sentence.capitalize() + rng.choice([".", "!", "?", ",", ";"]) + rng.choice([" ", " ", "\n"])
        )
        out.append(sentence)
        size += len(sentence)
    return "".join(out)


# Characters a round-trip test draws from: ASCII, accents, combining marks, CJK, emoji (4-byte UTF-8),
# whitespace runs and symbols.
UNICODE_POOL = (
    list("abcXYZ019 .,!?'-\n\t") + list("éüñøçß́ΩжЯ") + list("日本語中文한국") + ["😀", "🚀", "👍🏽", "𝔘"]
)


def random_unicode(rng: torch.Generator, length: int) -> str:
    """A random string of ``length`` characters from UNICODE_POOL, drawn from the test's generator."""
    picks = torch.randint(0, len(UNICODE_POOL), (length,), generator=rng).tolist()
    return "".join(UNICODE_POOL[i] for i in picks)


# ------------------------------------------------------------------------------------------------ checks


def _how_far(got: float, want: float) -> str:
    if want == 0:
        return f"expected 0, got {got!r}"
    rel = (got - want) / abs(want)
    side = "too high" if rel > 0 else "too low"
    if abs(rel) < 1e-3:
        return f"{side} by a relative {abs(rel):.1e}"
    return f"{side} by about {100 * abs(rel):.2g}%"


def expect_int(got, want: int, *, what: str) -> None:
    """``got`` must be a Python int (not a float, not a bool) equal to ``want``."""
    from autograder.checks import GradeFailure

    if isinstance(got, bool) or not isinstance(got, int):
        raise GradeFailure(f"{what}: expected an exact int, got a value of type {type(got).__name__}")
    if got != want:
        raise GradeFailure(f"{what}: wrong count, {_how_far(got, want)}")


def expect_number(got, want: float, *, what: str, rtol: float = 1e-9) -> None:
    """``got`` must be an int or float within ``rtol`` (relative) of ``want``."""
    from autograder.checks import GradeFailure

    if isinstance(got, bool) or not isinstance(got, int | float):
        raise GradeFailure(f"{what}: expected a number, got a value of type {type(got).__name__}")
    if not abs(got - want) <= rtol * abs(want):
        raise GradeFailure(f"{what}: {_how_far(got, want)} (tolerance {rtol:g} relative)")
