"""Mutants of the a7 reference (architectures.py, checkpoints.py): realistic student bugs, each a small
textual patch of one reference module, ``(id, module, description, old_snippet, new_snippet)``.
``test_a7_quality.py`` asserts that the hidden suite takes points off every one."""

MUTANTS = [
    (
        "gemma_norm_no_offset",
        "architectures.py",
        "Gemma's RMSNorm scaled by w instead of (1 + w)",
        "scale = 1.0 + self.weight.float() if self.offset else self.weight.float()",
        "scale = self.weight.float()",
    ),
    (
        "gemma_embeddings_unscaled",
        "architectures.py",
        "Gemma's embeddings not multiplied by sqrt(hidden_size)",
        "        if cfg.embed_scale:\n"
        "            x = x * torch.tensor(cfg.hidden_size**0.5, dtype=x.dtype)\n",
        "",
    ),
    (
        "gelu_exact_for_tanh",
        "architectures.py",
        "the exact GELU where the config asks for the tanh approximation",
        'return F.gelu(x, approximate="tanh")',
        "return F.gelu(x)",
    ),
    (
        "window_off_by_one",
        "architectures.py",
        "sliding window keeps W + 1 keys (>= instead of >)",
        "allowed = allowed & (k > q - window)",
        "allowed = allowed & (k >= q - window)",
    ),
    (
        "qwen_biases_dropped",
        "architectures.py",
        "Qwen2's q/k/v biases dropped",
        'qkv_bias=model_type == "qwen2" or bool(config.get("attention_bias", False)),',
        'qkv_bias=bool(config.get("attention_bias", False)),',
    ),
    (
        "gqa_tiled",
        "architectures.py",
        "GQA heads mapped in the wrong order (KV heads tiled instead of repeated)",
        "return x[:, :, None].expand(B, Hkv, n_rep, S, d).reshape(B, Hkv * n_rep, S, d)",
        "return x.repeat(1, n_rep, 1, 1)",
    ),
    (
        "rope_interleaved",
        "architectures.py",
        "RoPE pairs adjacent features (interleaved) while the weights are in the half-split layout",
        "    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)\n",
        "    rotated = torch.stack([-x[..., 1::2], x[..., ::2]], dim=-1).flatten(-2)\n",
    ),
    (
        "tied_head_ignored",
        "architectures.py",
        "tie_word_embeddings ignored: Gemma's lm_head stays random",
        "        if config.tie_word_embeddings:\n"
        "            self.lm_head.weight = self.embed_tokens.weight\n",
        "        pass\n",
    ),
    (
        "fused_qkv_wrong_order",
        "architectures.py",
        "Phi-3's fused qkv_proj split as values before keys",
        "q, k, v = self.qkv_proj(x).split([H * d, Hkv * d, Hkv * d], dim=-1)",
        "q, v, k = self.qkv_proj(x).split([H * d, Hkv * d, Hkv * d], dim=-1)",
    ),
    (
        "fused_gate_up_swapped",
        "architectures.py",
        "Phi-3's gate_up_proj split as up first, then gate",
        "gate, up = self.gate_up_proj(x).chunk(2, dim=-1)",
        "up, gate = self.gate_up_proj(x).chunk(2, dim=-1)",
    ),
    (
        "cache_positions_restart",
        "architectures.py",
        "positions restart at 0 for every cached step",
        "start = 0 if cache is None else cache.get_seq_length()",
        "start = 0",
    ),
    (
        "unexpected_key_ignored",
        "checkpoints.py",
        "a tensor the model has no place for is silently skipped",
        '            raise CheckpointError(f"unexpected {name}: the model has no parameter of that name")\n',
        "            continue\n",
    ),
    (
        "missing_key_ignored",
        "checkpoints.py",
        "a parameter the checkpoint lacks keeps its random value",
        "            raise CheckpointError("
        'f"missing {name}: the checkpoint has no tensor for this parameter")\n',
        "            pass\n",
    ),
    (
        "only_first_shard",
        "checkpoints.py",
        "only the first shard of a sharded checkpoint is read",
        "        for shard in sorted(set(weight_map.values())):",
        "        for shard in sorted(set(weight_map.values()))[:1]:",
    ),
    (
        "save_without_prefix",
        "checkpoints.py",
        "save_pretrained writes the decoder's names, without HF's model. prefix",
        'state[f"model.{name}"] = tensor.contiguous()',
        "state[name] = tensor.contiguous()",
    ),
]

# Survivors of the mutation tool (tests/quality/mutation.py) that do not change what the handout specifies.
_FROM_HF = (
    "architectures.py ArchConfig.from_hf | return cls(model_type=model_type, "
    "vocab_size=config['vocab_size'], hidden_size=config['hidden_size'], "
    "intermediate_size=config['intermediate_size'], "
    "num_hidden_layers=config['num_hidden_layers'], num_attention_heads=heads, "
    "num_key_value_heads=config.get('num_key_value_heads') or heads, "
    "head_dim=config.get('head_dim') or config['hidden_size'] // heads, "
    "rms_norm_eps=config.get('rms_norm_eps', 1e-06), "
    "rope_theta=rope.get('rope_theta', config.get('rope_theta', 10000.0)), sliding_window=window, "
    "hidden_act=config.get('hidden_act') or config.get('hidden_activation') or 'silu', "
    "qkv_bias=model_type == 'qwen2' or bool(config.get('attention_bias', False)), "
    "o_bias=model_type != 'qwen2' and bool(config.get('attention_bias', False)), "
    "embed_scale=model_type == 'gemma', norm_offset=model_type == 'gemma', "
    "tie_word_embeddings=bool(config.get('tie_word_embeddings', model_type == 'gemma')), "
    "fused=model_type == 'phi3')"
)
EQUIVALENT = {
    "architectures.py Attention.forward | key_positions = torch.arange(S, device=x.device) + "
    "(positions[-1] + 1 - S) | `torch.arange(S, device=x.device) + (positions[-1] + 1 - S)` -> "
    "`torch.arange(S, device=x.device) - (positions[-1] + 1 - S)`": (
        "the cache keeps every key from position 0, so the last position plus one is S and the offset is 0: "
        "adding or subtracting it gives the same key positions"
    ),
    "checkpoints.py save_pretrained | save_file(state, os.path.join(folder, SINGLE), metadata={'format': "
    "'pt'}) | `save_file(state, os.path.join(folder, SINGLE), metadata={'format': 'pt'})` -> "
    "`save_file(state, os.path.join(folder, SINGLE))`": (
        "the pinned transformers (5.24) loads a model.safetensors without metadata as PyTorch weights, the "
        "same tensors (checked by loading one with from_pretrained); the format tag matters to old loaders"
    ),
    f"{_FROM_HF} | `model_type == 'gemma'` -> `model_type != 'gemma'` #3": (
        "only the default for a config.json without tie_word_embeddings changes; every config the pinned "
        "transformers writes carries that key, and the handout makes it the switch of the tied head"
    ),
    "architectures.py rope_tables | angles = positions.float()[:, None] * inv_freq[None, :] | "
    "`positions.float()` -> `positions`": (
        "int64 positions times the float32 inverse frequencies promote to float32: the same angles"
    ),
}
