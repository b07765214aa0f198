"""Mutants of the a1 reference: realistic student bugs, each a small textual patch of one reference module.

Each entry is ``(id, module, description, old_snippet, new_snippet)``; the old snippet occurs exactly once in
``solutions/a1_scale/<module>``. The quality test asserts that the hidden suite takes points off every one.
"""

_RECOUNT = """\
    while len(merges) < n_merges and pair_counts:
        top = max(pair_counts.values())
"""
_RECOUNT_NEW = """\
    while len(merges) < n_merges and pair_counts:
        pair_counts = Counter()  # recount every pair of the corpus at every merge
        for i, word in enumerate(words):
            for pair in _pairs(word):
                pair_counts[pair] += freqs[i]
                where[pair].add(i)
        if not pair_counts:
            break
        top = max(pair_counts.values())
"""

MUTANTS = [
    # ------------------------------------------------------------------------------- accounting.py
    (
        "tied_head_counted_twice",
        "accounting.py",
        "GPT-2's tied output head counted as a second V x d matrix",
        'head = 0 if config.get("tied", True) else V * d',
        "head = V * d",
    ),
    (
        "gpt2_attention_biases_forgotten",
        "accounting.py",
        "the qkv and output projection biases of GPT-2 left out",
        "attention = (d * 3 * d + 3 * d) + (d * d + d)",
        "attention = (d * 3 * d) + (d * d)",
    ),
    (
        "layernorm_without_bias",
        "accounting.py",
        "GPT-2's LayerNorms counted with a weight only (no bias)",
        "norms = 2 * (2 * d)",
        "norms = 2 * d",
    ),
    (
        "swiglu_two_matrices",
        "accounting.py",
        "SwiGLU counted with two matrices instead of three",
        "mlp = 3 * d * d_ff",
        "mlp = 2 * d * d_ff",
    ),
    (
        "gqa_kv_sized_like_q",
        "accounting.py",
        "grouped-query attention's k and v projections sized like q (n_kv_heads ignored)",
        'H_kv, h = config.get("n_kv_heads") or H, _head_dim(config)',
        "H_kv, h = H, _head_dim(config)",
    ),
    (
        "moe_router_forgotten",
        "accounting.py",
        "the MoE router d -> E left out of the parameter count",
        'router = d * E if config.get("n_experts") else 0',
        "router = 0",
    ),
    (
        "moe_active_one_expert",
        "accounting.py",
        "active parameters with one expert per token instead of experts_per_token",
        'unused = config["n_experts"] - config["experts_per_token"]',
        'unused = config["n_experts"] - 1',
    ),
    (
        "llama_tied_by_default",
        "accounting.py",
        "LLaMA's output head assumed tied when the config does not say",
        'head = 0 if config.get("tied", False) else V * d',
        'head = 0 if config.get("tied", True) else V * d',
    ),
    (
        "llama_final_norm_forgotten",
        "accounting.py",
        "the final RMSNorm weight of a LLaMA model not counted",
        "return V * d + L * block + d + head",
        "return V * d + L * block + head",
    ),
    (
        "non_embedding_keeps_positions",
        "accounting.py",
        "non-embedding parameters that still include the position table",
        "return gpt2_params(config) - V * d - P * d",
        "return gpt2_params(config) - V * d",
    ),
    (
        "adam_states_half_precision",
        "accounting.py",
        "mixed-precision Adam with momentum and variance in 16-bit (8 bytes of optimizer state)",
        '"mixed_adam": (2, 2, 4 + 4 + 4),',
        '"mixed_adam": (2, 2, 4 + 2 + 2),',
    ),
    (
        "no_master_weights",
        "accounting.py",
        "mixed-precision Adam without the fp32 master copy of the weights",
        '"mixed_adam": (2, 2, 4 + 4 + 4),',
        '"mixed_adam": (2, 2, 4 + 4),',
    ),
    (
        "activations_linear_in_s",
        "accounting.py",
        "the attention-score term of the activation estimate linear in s instead of quadratic",
        '5 * config["n_heads"] * s * s * b',
        '5 * config["n_heads"] * s * b',
    ),
    # ---------------------------------------------------------------------------------- compute.py
    (
        "macs_not_flops",
        "compute.py",
        "1 FLOP per multiply-add (MACs) in the weight products",
        "per_block = 2 * weights",
        "per_block = weights",
    ),
    (
        "matmul_macs",
        "compute.py",
        "matmul_flops counts multiply-adds (m n p)",
        "return 2 * m * n * p",
        "return m * n * p",
    ),
    (
        "tied_head_no_flops",
        "compute.py",
        "the output head left out of the FLOPs because it is tied",
        "return L * per_block + 2 * d * V",
        'return L * per_block + (0 if config.get("tied", config["arch"] == "gpt2") else 2 * d * V)',
    ),
    (
        "attention_scores_only",
        "compute.py",
        "attention FLOPs with q k^T only (the weighted sum of v left out)",
        "per_block += 2 * (2 * seq_len * H * h)",
        "per_block += 2 * seq_len * H * h",
    ),
    (
        "moe_flops_all_experts",
        "compute.py",
        "MoE forward FLOPs with every expert instead of experts_per_token",
        'k = config.get("experts_per_token") or 1',
        'k = config.get("n_experts") or 1',
    ),
    (
        "gqa_flops_kv_like_q",
        "compute.py",
        "k and v projection FLOPs sized like q under grouped-query attention",
        'weights = d * H * h + 2 * d * H_kv * h + H * h * d + k * 3 * d * config["d_ff"] + router',
        'weights = d * H * h + 2 * d * H * h + H * h * d + k * 3 * d * config["d_ff"] + router',
    ),
    (
        "backward_same_as_forward",
        "compute.py",
        "a training step costing two forward passes (backward = forward)",
        "return 3 * forward_flops_per_token(config, seq_len, attention=True) * n_tokens",
        "return 2 * forward_flops_per_token(config, seq_len, attention=True) * n_tokens",
    ),
    (
        "gpu_days_ignore_mfu",
        "compute.py",
        "GPU-days at peak throughput (MFU ignored)",
        "return flops / (peak_flops_per_s * mfu) / SECONDS_PER_DAY",
        "return flops / peak_flops_per_s / SECONDS_PER_DAY",
    ),
    (
        "mfu_in_percent",
        "compute.py",
        "MFU returned in percent instead of a fraction",
        "return tokens_per_s * flops_per_token / peak_flops_per_s",
        "return 100 * tokens_per_s * flops_per_token / peak_flops_per_s",
    ),
    (
        "tokens_for_budget_2n",
        "compute.py",
        "tokens for a budget with the forward cost 2N instead of 6N",
        "return flops / (6 * n_params)",
        "return flops / (2 * n_params)",
    ),
    # -------------------------------------------------------------------------------------- bpe.py
    (
        "bpe_tie_smaller_pair",
        "bpe.py",
        "BPE ties broken the other way (lexicographically smaller pair)",
        "        best = max(\n            (p for p, c in pair_counts.items() if c == top),",
        "        best = min(\n            (p for p, c in pair_counts.items() if c == top),",
    ),
    (
        "bpe_tie_by_ids",
        "bpe.py",
        "BPE ties broken by comparing token ids instead of their bytes",
        "key=lambda p: (token_bytes[p[0]], token_bytes[p[1]]),",
        "key=lambda p: p,",
    ),
    (
        "bpe_full_recount",
        "bpe.py",
        "the pair counts recounted over the whole corpus at every merge (correct but too slow)",
        _RECOUNT,
        _RECOUNT_NEW,
    ),
    (
        "bpe_pairs_across_pretokens",
        "bpe.py",
        "pairs counted across pre-token boundaries (the regex not applied in training)",
        "counts.update(pretokenize(piece))",
        "counts.update([piece])",
    ),
    (
        "bpe_specials_trained_on",
        "bpe.py",
        "special tokens left in the training text, so their bytes get merged",
        "        if piece not in special_tokens:\n            counts.update",
        "        if True:\n            counts.update",
    ),
    (
        "bpe_vocab_ignores_specials",
        "bpe.py",
        "vocab_size not counting the special tokens (too many merges)",
        "n_merges = vocab_size - 256 - len(special_tokens)",
        "n_merges = vocab_size - 256",
    ),
    (
        "special_token_split_by_regex",
        "bpe.py",
        "a special token in the text split by the regex and encoded as ordinary bytes",
        "            if piece in self.special_ids:",
        "            if False:",
    ),
    (
        "specials_not_longest_first",
        "bpe.py",
        "special tokens matched in the order given instead of the longest first",
        "ordered = sorted(special_tokens, key=len, reverse=True)",
        "ordered = list(special_tokens)",
    ),
    (
        "decode_drops_partial_utf8",
        "bpe.py",
        "decode token by token, dropping the bytes of a character split across tokens",
        'return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")',
        'return "".join(self.vocab[i].decode("utf-8", errors="ignore") for i in ids)',
    ),
    (
        "encode_latest_merge_first",
        "bpe.py",
        "encode applying the most recently learned merge first instead of the earliest",
        "pair = min(_pairs(word), key=lambda p: self.ranks.get(p, len(self.ranks)))",
        "pair = max(_pairs(word), key=lambda p: self.ranks.get(p, -1))",
    ),
    (
        "compression_in_characters",
        "bpe.py",
        "compression ratio in characters per token instead of bytes",
        'return len(text.encode("utf-8")) / len(tokenizer.encode(text))',
        "return len(text) / len(tokenizer.encode(text))",
    ),
    # ------------------------------------------------------------------------------------ dedup.py
    (
        "normalize_without_nfkc",
        "dedup.py",
        "normalisation without Unicode NFKC",
        'text = unicodedata.normalize("NFKC", text).lower()',
        "text = text.lower()",
    ),
    (
        "exact_dedup_raw_text",
        "dedup.py",
        "exact duplicates hashed on the raw text instead of the normalised one",
        'key = hashlib.sha256(normalize(doc).encode("utf-8")).digest()',
        'key = hashlib.sha256(doc.encode("utf-8")).digest()',
    ),
    (
        "shingles_not_normalised",
        "dedup.py",
        "shingles taken from the raw text",
        "    text = normalize(text)\n    if len(text) < n:",
        "    if len(text) < n:",
    ),
    (
        "minhash_without_b",
        "dedup.py",
        "the hash family without its offsets b_i",
        "(a[:, None] * x[None, :] + b[:, None])",
        "(a[:, None] * x[None, :])",
    ),
    (
        "lsh_overlapping_bands",
        "dedup.py",
        "LSH bands that start at every entry instead of every rows-th (overlapping bands)",
        "sig[band * rows : (band + 1) * rows]",
        "sig[band : band + rows]",
    ),
    (
        "near_dedup_against_removed",
        "dedup.py",
        "a document removed as a near duplicate of one that was itself removed",
        "i in kept_set and estimate_jaccard(signatures[i], signatures[j]) >= threshold",
        "estimate_jaccard(signatures[i], signatures[j]) >= threshold",
    ),
    (
        "fraction_over_kept",
        "dedup.py",
        "the fraction removed divided by the documents kept instead of all documents",
        '"fraction_removed": (len(docs) - len(kept)) / len(docs) if docs else 0.0,',
        '"fraction_removed": (len(docs) - len(kept)) / len(kept) if kept else 0.0,',
    ),
]

# Automatic mutants (tests/quality/mutation.py) that no test can kill, because they do not change behaviour.
EQUIVALENT = {
    "compute.py train_flops_exact | return 3 * forward_flops_per_token(config, seq_len, attention=True) * "
    "n_tokens | `forward_flops_per_token(config, seq_len, attention=True)` -> "
    "`forward_flops_per_token(config, seq_len)`": "attention=True is the default of forward_flops_per_token",
    "bpe.py split_on_special | ordered = sorted(special_tokens, key=len, reverse=True) | "
    "`sorted(special_tokens, key=len, reverse=True)` -> `sorted(special_tokens, reverse=True)`": (
        "the order of the alternatives only matters between special tokens that match at the same position, "
        "that is when one is a prefix of the other; in reverse lexicographic order a string comes before "
        "each of its prefixes too, so the longer one is still tried first"
    ),
}
