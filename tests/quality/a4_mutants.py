"""Mutants of the a4 reference: realistic student bugs, each a small textual patch of one reference module.

Each entry is ``(id, module, description, old_snippet, new_snippet)``; the old snippet must occur exactly once
in the reference module. ``test_a4_quality.py`` asserts that the hidden suite takes points off every one.

Equivalent patches left out on purpose: ``new_cache`` returning a full ``KVCache`` for a sliding-window model
is still correct (the window lives in the mask, which is built from positions; only memory is wasted), and
writing position q of the rolling buffer to any slot other than q mod (W - 1) is correct as long as the slot
positions are stored with it and every slot is overwritten in age order.
"""

MUTANTS = [
    # ---------------------------------------------------------------- rope.py
    (
        "inv_freq_no_step_two",
        "rope.py",
        "inverse frequencies with exponent i/d instead of 2i/d",
        "torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim",
        "torch.arange(head_dim // 2, dtype=torch.int64).float() / head_dim",
    ),
    (
        "tables_pairs_mixed",
        "rope.py",
        "RoPE pairs mixed up: interleaved cos/sin tables with the half-split rotate_half",
        "emb = torch.cat([angles, angles], dim=-1)",
        "emb = angles.repeat_interleave(2, dim=-1)",
    ),
    (
        "tables_no_attention_factor",
        "rope.py",
        "attention_factor not applied to cos and sin",
        "return emb.cos() * attention_factor, emb.sin() * attention_factor",
        "return emb.cos(), emb.sin()",
    ),
    (
        "rotate_half_wrong_sign",
        "rope.py",
        "rotate_half turns the other way: (x2, -x1)",
        "return torch.cat([-x2, x1], dim=-1)",
        "return torch.cat([x2, -x1], dim=-1)",
    ),
    (
        "pi_factor_twice",
        "rope.py",
        "the PI factor applied to both positions and frequencies (divides by factor squared)",
        "    return inv_freq / factor\n",
        "    return inv_freq / factor**2\n",
    ),
    (
        "ntk_no_max",
        "rope.py",
        "dynamic NTK uses seq_len even inside the trained context (no max with max_position_embeddings)",
        "L = max_position_embeddings if seq_len is None else max(seq_len, max_position_embeddings)",
        "L = max_position_embeddings if seq_len is None else seq_len",
    ),
    (
        "ntk_no_exponent",
        "rope.py",
        "dynamic NTK without the d / (d - 2) exponent",
        " ** (head_dim / (head_dim - 2))",
        "",
    ),
    (
        "yarn_no_attention_factor",
        "rope.py",
        "YaRN's attention factor forgotten (returns 1)",
        "return scaled, yarn_attention_factor(factor)",
        "return scaled, 1.0",
    ),
    (
        "yarn_ramp_reversed",
        "rope.py",
        "YaRN interpolates the fast pairs and keeps the slow ones (ramp reversed)",
        "scaled = (inv_freq / factor) * ramp + inv_freq * (1 - ramp)",
        "scaled = inv_freq * ramp + (inv_freq / factor) * (1 - ramp)",
    ),
    (
        "yarn_no_rounding",
        "rope.py",
        "YaRN's correction range not rounded (no floor/ceil)",
        "low = max(math.floor(corr(beta_fast)), 0)\n    high = min(math.ceil(corr(beta_slow)), head_dim - 1)",
        "low = max(corr(beta_fast), 0)\n    high = min(corr(beta_slow), head_dim - 1)",
    ),
    (
        "llama3_smoothing_swapped",
        "rope.py",
        "Llama 3 smoothing weights swapped between the scaled and the unscaled frequency",
        "smoothed = (1 - s) * inv_freq / factor + s * inv_freq",
        "smoothed = s * inv_freq / factor + (1 - s) * inv_freq",
    ),
    # ---------------------------------------------------------------- kv_cache.py
    (
        "cache_not_advanced_chunk",
        "kv_cache.py",
        "the cache not advanced by the chunk length after chunked prefill (counts one per update)",
        "        self.seen[layer_idx] += k.shape[-2]\n",
        "        self.seen[layer_idx] += 1\n",
    ),
    (
        "sliding_not_advanced_chunk",
        "kv_cache.py",
        "the sliding-window cache counts one token per update, whatever the chunk length",
        "        self.seen[layer_idx] += T\n",
        "        self.seen[layer_idx] += 1\n",
    ),
    (
        "rolling_slot_mod_window",
        "kv_cache.py",
        "the rolling buffer of W - 1 slots indexed with position mod W (overwrites the wrong slot)",
        "slot = new_pos[keep] % slots",
        "slot = new_pos[keep] % self.window",
    ),
    (
        "rolling_keeps_first",
        "kv_cache.py",
        "after a long chunk the rolling buffer keeps the chunk's first W - 1 tokens instead of its last",
        "keep = slice(max(T - slots, 0), T)",
        "keep = slice(0, min(T, slots))",
    ),
    (
        "window_off_by_one",
        "kv_cache.py",
        "the window off by one: a query sees W + 1 keys (key >= query - W)",
        "allowed = allowed & (k > q - window)",
        "allowed = allowed & (k >= q - window)",
    ),
    (
        "mask_direction",
        "kv_cache.py",
        "causal mask the wrong way round (keys at or after the query)",
        "allowed = k <= q",
        "allowed = k >= q",
    ),
    (
        "gqa_wrong_order",
        "kv_cache.py",
        "KV heads repeated in the wrong order for GQA (tiled: query head h reads KV head h mod Hkv)",
        "return x[:, :, None].expand(B, Hkv, n_rep, S, d).reshape(B, Hkv * n_rep, S, d)",
        "return x[:, None].expand(B, n_rep, Hkv, S, d).reshape(B, Hkv * n_rep, S, d)",
    ),
    (
        "cache_concat_resets",
        "kv_cache.py",
        "the cache keeps only the newest chunk (assigns instead of appending)",
        "self.keys[layer_idx] = torch.cat([self.keys[layer_idx], k], dim=-2)  # append along S",
        "self.keys[layer_idx] = k",
    ),
    # ---------------------------------------------------------------- model.py
    (
        "positions_restart",
        "model.py",
        "positions restarted at 0 on each decode step",
        "positions = torch.arange(past, past + T, device=idx.device)  # [T]",
        "positions = torch.arange(T, device=idx.device)  # [T]",
    ),
    (
        "keys_never_rotated",
        "model.py",
        "keys cached before rotation and never rotated (only queries get RoPE)",
        "q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)",
        "q = apply_rope(q, cos, sin)",
    ),
    (
        "window_not_passed",
        "model.py",
        "the sliding window ignored by the attention mask",
        "allowed = attention_mask(positions, key_positions, self.window)  # [T, S]",
        "allowed = attention_mask(positions, key_positions)  # [T, S]",
    ),
    (
        "no_scale",
        "model.py",
        "attention scores without the 1/sqrt(d) scale",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # [B, H, T, S]",
        "scores = q @ k.transpose(-2, -1)  # [B, H, T, S]",
    ),
    (
        "decode_without_cache",
        "model.py",
        "decode steps feed the newest token without the cache",
        "logits = model(next_id, cache)  # one decode step: [B, 1, V]",
        "logits = model(next_id)  # one decode step: [B, 1, V]",
    ),
    (
        "start_pos_unchecked",
        "model.py",
        "a start_pos that disagrees with the cache is ignored",
        'raise ValueError(f"start_pos={start_pos}, but the cache has seen {past} tokens")',
        "pass",
    ),
    # ---------------------------------------------------------------- cache_memory.py
    (
        "bytes_no_kv_factor",
        "cache_memory.py",
        "bytes per token without the factor 2 for keys and values",
        "return 2 * n_layers * n_kv_heads * head_dim * bytes_per_element",
        "return n_layers * n_kv_heads * head_dim * bytes_per_element",
    ),
    (
        "window_ignored_in_bytes",
        "cache_memory.py",
        "the sliding window does not cap the cache",
        "tokens = seq_len if sliding_window is None else min(seq_len, sliding_window)",
        "tokens = seq_len",
    ),
    (
        "gqa_saving_inverted",
        "cache_memory.py",
        "GQA saving inverted (n_kv_heads / n_heads)",
        "return n_heads / n_kv_heads",
        "return n_kv_heads / n_heads",
    ),
    (
        "crossover_ceil",
        "cache_memory.py",
        "crossover at the first context where the cache reaches (not exceeds) the weights",
        "return weights // per_token + 1",
        "return -(-weights // per_token)",
    ),
]

# Survivors of the mutation tool (tests/quality/mutation.py) shown equivalent: keyed as the tool prints them.
EQUIVALENT = {
    "kv_cache.py KVCache.__init__ | self.values: list[Tensor | None] = [None] * n_layers | `Tensor "
    "| None` -> "
    "`None`": "a type annotation of an attribute; it has no effect at run time",
    "kv_cache.py SlidingWindowCache.update | buf_k, buf_v, buf_pos = (buf_k.clone(), buf_v.clone(), "
    "buf_pos.clone()) | `buf_pos.clone()` -> `buf_pos`": "the slot positions are never returned "
    "(update returns "
    "torch.cat of a masked copy), so writing them in place aliases nothing the caller holds",
    "rope.py llama3_scaling | out = torch.where(wavelen > L / low_freq_factor, inv_freq / factor, "
    "smoothed) | "
    "`wavelen > L / low_freq_factor` -> `wavelen >= L / low_freq_factor`": "at wavelen = L / low_freq_factor "
    "the smoothing weight s is 0, so the smoothed frequency equals inv_freq / factor: both branches agree",
    "model.py generate | if max_new_tokens == 0: | statement replaced by `pass`": "with 0 new "
    "tokens the cached "
    "loop does not run and torch.cat([idx]) equals idx: the early return is only a shortcut",
    "kv_cache.py SlidingWindowCache.update | keys = torch.cat([buf_k[:, :, filled], k], dim=-2) | "
    "`-2` -> `2`": ("keys are always 4-d [B, Hkv, S, d], so axis 2 is axis -2"),
    "model.py generate | return idx | statement replaced by `pass`": "without the return the uncached branch "
    "falls through to the cached one, which produces the same tokens",
}
